import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../test/harness/logger.js';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import { sleep, waitFor } from '../../../test/harness/wait.js';
import type { Storage } from '../../storage/database.js';
import type { StoredEvent } from './model.js';
import { insertEvent, sequencePending } from './store.js';
import { EventStreamHub, type StreamSink } from './stream.js';

/** A connection whose peer reads nothing once `stalled`: what it is handed piles up in its buffer. */
function sink(channelId: string) {
  const got: StoredEvent[] = [];
  const s = {
    channelId,
    got,
    stalled: false,
    bufferedBytes: 0,
    dropped: null as null | { why: string; resumeAfter: number },
    beats: 0,
    push(e: StoredEvent) {
      got.push(e);
      if (s.stalled) s.bufferedBytes += 600;
    },
    buffered: () => s.bufferedBytes,
    heartbeat() {
      s.beats++;
    },
    drop(why: string, resumeAfter: number) {
      s.dropped = { why, resumeAfter };
    },
  };
  return s satisfies StreamSink;
}

describe.each(storageTargets())('event stream hub on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  let hub: EventStreamHub;
  let n = 0;
  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    hub = new EventStreamHub({
      db: storage.db,
      channelTypes: ['order.redeemed'],
      pollMs: 20,
      heartbeatMs: 50,
      maxBufferBytes: 4096,
      maxClients: 3,
      logger: silentLogger,
    });
  });
  afterEach(async () => {
    hub.stop();
    await loc.destroy();
  });

  const write = async (channel: string, count: number, type = 'order.redeemed') => {
    for (let i = 0; i < count; i++) {
      await storage.db.transaction().execute((trx) =>
        insertEvent(trx, storage.dialect, {
          id: `evt_${String(++n).padStart(26, '0')}`,
          type,
          version: 1,
          channel_id: channel,
          subject_id: `ord_${n}`,
          payload: '{}',
          created_at: n,
        }),
      );
    }
    if (storage.dialect === 'postgres') await sequencePending(storage.db, 1000);
  };

  it('a resuming client gets its backlog, then live events, each once, while others write', async () => {
    await write('ch_a', 30);
    await write('ch_b', 5);
    const s = sink('ch_a');
    const writing = write('ch_a', 40);
    await hub.attach(s, 10);
    await writing;
    await write('ch_a', 5, 'order.submitted'); // not a channel type: never streamed
    await write('ch_a', 5);
    await waitFor(async () => (s.got.length >= 65 ? true : undefined), 5000, 'every event');
    await sleep(100);
    const seqs = s.got.map((e) => e.sequence as number);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(s.got).toHaveLength(65);
    expect(s.got.every((e) => e.channel_id === 'ch_a' && e.type === 'order.redeemed')).toBe(true);
    expect(s.beats).toBeGreaterThan(0);
  });

  it('a consumer that stops reading is dropped with its resume point, not buffered without bound', async () => {
    const slow = sink('ch_a');
    const fine = sink('ch_a');
    await hub.attach(slow, undefined);
    await hub.attach(fine, undefined);
    slow.stalled = true;
    await write('ch_a', 20);
    await waitFor(async () => (fine.got.length >= 20 ? true : undefined), 5000, 'the reader');
    expect(slow.dropped?.why).toBe('slow_consumer');
    // 4096 bytes allowed at 600 a piece: dropped at the 7th, never handed the rest.
    expect(slow.got).toHaveLength(7);
    expect(slow.dropped?.resumeAfter).toBe(slow.got.at(-1)?.sequence);
    // Resuming from there gets exactly the rest.
    const again = sink('ch_a');
    await hub.attach(again, slow.dropped?.resumeAfter);
    await waitFor(async () => (again.got.length >= 13 ? true : undefined), 5000, 'the rest');
    expect([...slow.got, ...again.got].map((e) => e.sequence)).toEqual(fine.got.map((e) => e.sequence));
  });

  it('holds at most its limit of clients', async () => {
    const detach = [];
    for (let i = 0; i < 3; i++) detach.push(await hub.attach(sink('ch_a'), undefined));
    expect(hub.hasRoom('ch_b')).toBe(false);
    detach[0]?.();
    expect(hub.hasRoom('ch_b')).toBe(true);
  });

  it('holds at most its limit of clients per channel, so one channel cannot take every slot', async () => {
    const perChannel = new EventStreamHub({
      db: storage.db,
      channelTypes: ['order.redeemed'],
      pollMs: 20,
      heartbeatMs: 50,
      maxBufferBytes: 4096,
      maxClients: 10,
      maxClientsPerChannel: 2,
      logger: silentLogger,
    });
    const detach = [];
    for (let i = 0; i < 2; i++) detach.push(await perChannel.attach(sink('ch_a'), undefined));
    expect(perChannel.hasRoom('ch_a')).toBe(false);
    expect(perChannel.hasRoom('ch_b')).toBe(true);
    detach[0]?.();
    expect(perChannel.hasRoom('ch_a')).toBe(true);
    perChannel.stop();
  });
});
