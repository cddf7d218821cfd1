import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import { manualGate } from '../../../test/harness/wait.js';
import type { Storage } from '../../storage/database.js';
import { insertEvent, listEventRows, type NewEventRow, sequencePending } from './store.js';

const row = (id: string): NewEventRow => ({
  id,
  type: 'order.review',
  version: 1,
  channel_id: 'ch_x',
  subject_id: `ord_${id}`,
  payload: '{}',
  created_at: 0,
});

/**
 * The promise readers rely on: `seq` is commit order. An event written first but committed last
 * gets the higher number, so a reader that resumes after what it has seen never skips it.
 */
describe.each(storageTargets())('event sequence on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  beforeEach(async () => {
    loc = await target.fresh();
    storage = await loc.open();
  });
  afterEach(() => loc.destroy());

  const listed = async (after: number) =>
    (await listEventRows(storage.db, { after, limit: 100 })).map((r) => [r.id, Number(r.seq)] as const);

  it('an event written before another but committed after it is numbered after it, and no reader skips it', async () => {
    if (storage.dialect === 'sqlite') {
      // One writer: numbered as written, which is commit order.
      await storage.db.transaction().execute((trx) => insertEvent(trx, 'sqlite', row('a')));
      await storage.db.transaction().execute((trx) => insertEvent(trx, 'sqlite', row('b')));
      expect(await listed(0)).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      return;
    }
    const { open: commitFirst, opened: held } = manualGate();
    const { open: written, opened: firstWritten } = manualGate();
    // T1 writes `early` and stays open; T2 writes `late` and commits.
    const t1 = storage.db.transaction().execute(async (trx) => {
      const r = await insertEvent(trx, 'postgres', row('early'));
      written();
      await held;
      return r.position;
    });
    await firstWritten;
    const late = await storage.db.transaction().execute((trx) => insertEvent(trx, 'postgres', row('late')));
    expect(late.seq).toBeNull(); // numbered after commit, not at insert
    expect(await sequencePending(storage.db, 100)).toBe(1);
    const seen = await listed(0);
    expect(seen).toEqual([['late', 1]]);
    commitFirst();
    const earlyPosition = await t1;
    expect(earlyPosition).toBeLessThan(late.position); // written first...
    expect(await sequencePending(storage.db, 100)).toBe(1);
    // ...numbered after: a reader resuming after `late` finds it.
    expect(await listed(seen.at(-1)?.[1] ?? 0)).toEqual([['early', 2]]);
  });

  it('only one sequencer works at a time; the other skips the locked counter rather than wait', async () => {
    if (storage.dialect === 'sqlite') return;
    await storage.db.transaction().execute((trx) => insertEvent(trx, 'postgres', row('x')));
    const other = await loc.open({ migrate: false });
    const { open: release, opened: gate } = manualGate();
    const { open: locked, opened: isLocked } = manualGate();
    const holder = other.db.transaction().execute(async (trx) => {
      await trx.selectFrom('event_sequence').selectAll().forUpdate().execute();
      locked();
      await gate;
    });
    await isLocked;
    expect(await sequencePending(storage.db, 100)).toBe(0); // skipped, did not block
    release();
    await holder;
    expect(await sequencePending(storage.db, 100)).toBe(1);
  });
});
