import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import { cryptoSuite } from '../../shared/suite.js';
import type { Storage } from '../../storage/database.js';
import { type Committer, createCommitter } from '../../storage/group-commit.js';
import {
  createLinkHasher,
  ipLabel,
  KNOWN_CAP,
  LINK_KINDS,
  type LinkKind,
  type LinkSubject,
  pruneLinks,
  recordLinks,
} from './links.js';

const T0 = Date.UTC(2026, 0, 1);
const hasher = createLinkHasher(Buffer.alloc(32, 7), cryptoSuite('standard').keyedHash);
const device = (id: string, channelId = 'ch_1') => hasher.subjectsOf({ channelId, deviceId: id });
const ip = (addr: string) => hasher.subjectsOf({ channelId: 'ch_1', clientIp: addr });

describe('link subjects', () => {
  it('keeps only keyed hashes and masked labels, keys devices per channel and IPs across channels', () => {
    const [d, i, dst] = hasher.subjectsOf({
      channelId: 'ch_1',
      deviceId: 'android-9f3c1a2b',
      clientIp: '::ffff:203.0.113.77',
      destination: { type: 'alipay', account: 'li.lei@example.com' },
    }) as [LinkSubject, LinkSubject, LinkSubject];
    expect(d).toMatchObject({ kind: 'device', label: 'device …1a2b' });
    expect(i).toMatchObject({ kind: 'ip', label: 'ip 203.0.113.0/24' });
    expect(dst).toMatchObject({ kind: 'destination', label: 'alipay ….com' });
    for (const s of [d, i, dst]) expect(s.valueHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify([d, i, dst])).not.toMatch(/9f3c1a2b|203\.0\.113\.77|li\.lei/);
    expect(ip('203.0.113.77')[0]?.valueHash).toBe(i.valueHash);
    expect(device('android-9f3c1a2b', 'ch_2')[0]?.valueHash).not.toBe(d.valueHash);
    expect(ipLabel('2001:db8:1:2::5')).toBe('ip 2001:db8:1::/48');
  });
});

describe.each(storageTargets())('recordLinks on $name', (target) => {
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
  const record = (
    sellerId: string,
    subjects: LinkSubject[],
    nowMs: number,
    countKinds: readonly LinkKind[] = LINK_KINDS,
  ) => committer.run((trx) => recordLinks(trx, { channelId: 'ch_1', sellerId, subjects, countKinds }, nowMs));

  it('says which values are new to the seller and how many of the kind it had before', async () => {
    const first = await record('s1', [...device('d1'), ...ip('198.51.100.1')], T0);
    expect(first).toEqual([
      { kind: 'device', valueHash: device('d1')[0]?.valueHash, isNew: true, sellerKnownOfKind: 0 },
      { kind: 'ip', valueHash: ip('198.51.100.1')[0]?.valueHash, isNew: true, sellerKnownOfKind: 0 },
    ]);
    // The same device again, in the same millisecond: known (nothing new of the kind: not counted).
    const again = await record('s1', device('d1'), T0);
    expect(again).toMatchObject([{ isNew: false, sellerKnownOfKind: null }]);
    // A second device: new, and the seller had one before (the device-mismatch rule's case).
    expect(await record('s1', device('d2'), T0 + 1)).toMatchObject([{ isNew: true, sellerKnownOfKind: 1 }]);
    // Both known devices and a third in one call: the third is new, two were known before.
    const three = await record('s1', [...device('d1'), ...device('d2'), ...device('d3')], T0 + 2);
    expect(three.map((r) => [r.isNew, r.sellerKnownOfKind]).sort()).toEqual([
      [false, 2],
      [false, 2],
      [true, 2],
    ]);
    // A repeated subject in one call is one value.
    expect(await record('s1', [...device('d4'), ...device('d4')], T0 + 3)).toMatchObject([
      { isNew: true, sellerKnownOfKind: 3 },
    ]);
    // Another seller seen with the same device starts from nothing.
    expect(await record('s2', device('d1'), T0 + 4)).toMatchObject([{ isNew: true, sellerKnownOfKind: 0 }]);
    // A kind not asked for is not counted, new or not.
    expect(await record('s1', [...device('d5'), ...ip('198.51.100.2')], T0 + 5, ['device'])).toEqual([
      expect.objectContaining({ kind: 'device', isNew: true, sellerKnownOfKind: 4 }),
      expect.objectContaining({ kind: 'ip', isNew: true, sellerKnownOfKind: null }),
    ]);
    const row = await storage.db
      .selectFrom('risk_seller_links')
      .selectAll()
      .where('seller_id', '=', 's1')
      .where('value_hash', '=', device('d1')[0]?.valueHash as string)
      .executeTakeFirstOrThrow();
    expect({
      ...row,
      first_seen_at: Number(row.first_seen_at),
      last_seen_at: Number(row.last_seen_at),
    }).toEqual({
      channel_id: 'ch_1',
      seller_id: 's1',
      kind: 'device',
      value_hash: device('d1')[0]?.valueHash,
      label: 'device …',
      first_seen_at: T0,
      last_seen_at: T0 + 2,
      orders: 3,
    });
    expect(await record('s1', [], T0)).toEqual([]);
  });

  it('forgets links not seen since the cut-off, a page at a time, and keeps the ones seen since', async () => {
    const DAY = 86_400_000;
    for (let i = 0; i < 5; i++) await record('old-seller', device(`old-${i}`), T0 - 200 * DAY);
    await record('old-seller', device('fresh'), T0 - DAY);
    // Seen long ago, and again lately: kept.
    await record('kept-seller', ip('203.0.113.9'), T0 - 300 * DAY);
    await record('kept-seller', ip('203.0.113.9'), T0 - 2 * DAY);
    const cutoff = T0 - 180 * DAY;
    expect(await pruneLinks(storage.db, cutoff, 2)).toBe(2);
    expect(await pruneLinks(storage.db, cutoff, 2)).toBe(2);
    expect(await pruneLinks(storage.db, cutoff, 2)).toBe(1);
    expect(await pruneLinks(storage.db, cutoff, 2)).toBe(0);
    const left = await storage.db
      .selectFrom('risk_seller_links')
      .select(['seller_id', 'label'])
      .where('seller_id', 'in', ['old-seller', 'kept-seller'])
      .orderBy('seller_id')
      .execute();
    expect(left).toEqual([
      { seller_id: 'kept-seller', label: 'ip 203.0.113.0/24' },
      { seller_id: 'old-seller', label: 'device …resh' },
    ]);
  });

  it('counts concurrent intakes of one seller exactly, and caps what it counts of a kind', async () => {
    const subjects = [...device('shared-device'), ...ip('192.0.2.10')];
    const out = await Promise.all(Array.from({ length: 20 }, () => record('s3', subjects, T0)));
    expect(out.flat().filter((r) => r.isNew)).toHaveLength(2);
    const orders = await storage.db
      .selectFrom('risk_seller_links')
      .select('orders')
      .where('seller_id', '=', 's3')
      .execute();
    expect(orders.map((o) => Number(o.orders))).toEqual([20, 20]);
    for (let i = 0; i < KNOWN_CAP + 5; i++) await record('s4', ip(`10.0.${i >> 8}.${i & 255}`), T0);
    expect(await record('s4', ip('10.9.9.9'), T0)).toMatchObject([
      { isNew: true, sellerKnownOfKind: KNOWN_CAP },
    ]);
  });
});
