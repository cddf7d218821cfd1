import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import { cryptoSuite } from '../../shared/suite.js';
import type { Storage } from '../../storage/database.js';
import { type Committer, createCommitter } from '../../storage/group-commit.js';
import { createLinkHasher, type LinkInput, recordLinks } from './links.js';
import { countOutcome } from './outcomes-subscriber.js';
import { flaggedRings, listRings, refreshRings, ringOfSeller } from './rings-job.js';

const T0 = Date.UTC(2026, 0, 1);
const hasher = createLinkHasher(Buffer.alloc(32, 3), cryptoSuite('standard').keyedHash);

describe.each(storageTargets())('the rings job on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  let committer: Committer;
  beforeAll(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    committer = createCommitter(storage.db, storage.dialect);
  });
  afterAll(async () => {
    await storage.close();
    await loc.destroy();
  });
  const seen = (sellerId: string, input: Omit<LinkInput, 'channelId'>, channelId = 'ch_1') =>
    committer.run((trx) =>
      recordLinks(trx, { channelId, sellerId, subjects: hasher.subjectsOf({ channelId, ...input }) }, T0),
    );
  const bad = (sellerId: string, outcome: 'rejected' | 'frozen', channelId = 'ch_1') =>
    committer.run((trx) => countOutcome(trx, { channelId, sellerId, outcome }, T0));

  it('writes the rings, flags the bad ones, and replaces the previous computation', async () => {
    await seen('a', { deviceId: 'dev-0001', clientIp: '198.51.100.7' });
    await seen('b', { deviceId: 'dev-0001' });
    await seen('c', { clientIp: '198.51.100.7' });
    // Two channels, one payout account.
    await seen('x', { destination: { type: 'alipay', account: 'acct-5555' } }, 'ch_1');
    await seen('y', { destination: { type: 'alipay', account: 'acct-5555' } }, 'ch_2');
    await seen('loner', { deviceId: 'dev-9999', clientIp: '192.0.2.1' });
    await bad('a', 'rejected');
    await bad('a', 'rejected');
    await bad('c', 'frozen');
    await bad('x', 'frozen');

    const first = await refreshRings(storage.db, storage.dialect, {}, T0 + 1000);
    expect(first).toEqual({ rings: 2, flagged: 1, ignored: [] });
    const ring = await ringOfSeller(storage.db, 'ch_1', 'b');
    expect(ring).toMatchObject({
      size: 3,
      badMembers: 2,
      flagged: true,
      firstSeenAt: T0 + 1000,
      computedAt: T0 + 1000,
    });
    expect(ring?.members).toEqual([
      { channelId: 'ch_1', sellerId: 'a', rejected: 2, frozen: 0 },
      { channelId: 'ch_1', sellerId: 'b', rejected: 0, frozen: 0 },
      { channelId: 'ch_1', sellerId: 'c', rejected: 0, frozen: 1 },
    ]);
    expect(ring?.links.map((l) => [l.kind, l.label, l.members.map((m) => m.sellerId)])).toEqual([
      ['device', 'device …0001', ['a', 'b']],
      ['ip', 'ip 198.51.100.0/24', ['a', 'c']],
    ]);
    expect(await ringOfSeller(storage.db, 'ch_1', 'loner')).toBeUndefined();
    expect(await ringOfSeller(storage.db, 'ch_2', 'a')).toBeUndefined();
    expect((await flaggedRings(storage.db)).map((r) => r.id)).toEqual([ring?.id]);
    const unflagged = await listRings(storage.db, { flagged: false, limit: 10 });
    expect(unflagged.rings.map((r) => r.members.map((m) => `${m.channelId}/${m.sellerId}`))).toEqual([
      ['ch_1/x', 'ch_2/y'],
    ]);

    // The loner now shares b's device: the ring grows (a new id), the x–y ring stays as it was.
    await seen('loner', { deviceId: 'dev-0001' });
    const second = await refreshRings(storage.db, storage.dialect, {}, T0 + 2000);
    expect(second).toMatchObject({ rings: 2, flagged: 1 });
    const grown = await ringOfSeller(storage.db, 'ch_1', 'loner');
    expect(grown?.size).toBe(4);
    expect(grown?.id).not.toBe(ring?.id);
    expect(grown?.firstSeenAt).toBe(T0 + 2000);
    const kept = await ringOfSeller(storage.db, 'ch_2', 'y');
    expect(kept).toMatchObject({ id: unflagged.rings[0]?.id, firstSeenAt: T0 + 1000, computedAt: T0 + 2000 });
    const members = await storage.db.selectFrom('risk_ring_members').select('ring_id').execute();
    expect(members).toHaveLength(6);
    const rings = await storage.db.selectFrom('risk_rings').select('id').execute();
    expect(rings.map((r) => r.id).sort()).toEqual([grown?.id, kept?.id].sort());
  });

  it('leaves out a value shared by more sellers than maxSharers, and two runs at once both land', async () => {
    for (let i = 0; i < 6; i++) await seen(`nat-${i}`, { clientIp: '203.0.113.200' }, 'ch_3');
    const capped = await refreshRings(storage.db, storage.dialect, { maxSharers: 5 }, T0 + 3000);
    expect(capped.ignored).toEqual([{ kind: 'ip', label: 'ip 203.0.113.0/24', sharers: 6 }]);
    expect(await ringOfSeller(storage.db, 'ch_3', 'nat-0')).toBeUndefined();
    const [one, two] = await Promise.all([
      refreshRings(storage.db, storage.dialect, { maxSharers: 6 }, T0 + 4000),
      refreshRings(storage.db, storage.dialect, { maxSharers: 6 }, T0 + 4000),
    ]);
    expect(one.rings).toBe(3);
    expect(two.rings).toBe(3);
    expect((await ringOfSeller(storage.db, 'ch_3', 'nat-5'))?.size).toBe(6);
    // A page of one, then the next.
    const page = await listRings(storage.db, { limit: 1 });
    expect(page.more).toBe(true);
    const next = await listRings(storage.db, { limit: 5, cursor: page.rings[0]?.id as string });
    expect(next.rings).toHaveLength(2);
  });
});
