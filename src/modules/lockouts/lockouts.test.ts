import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageTargets, type TestLocation } from '../../../test/harness/storage.js';
import type { Storage } from '../../storage/database.js';
import { type Committer, createCommitter } from '../../storage/group-commit.js';
import type { IntakeSubjects } from '../orders/index.js';
import type { LockoutSettings } from './model.js';
import { createLockoutService } from './service.js';
import { countOf, hit } from './store.js';

/** The counters and the intake guard against the database itself, many at once (decision 0029). */
const SETTINGS: LockoutSettings = {
  cardTries: 3,
  cardTriesWindowMs: 300_000,
  cardWrongSecrets: 5,
  sellerWrongSecrets: 10,
  deviceWrongSecrets: 10,
  ipWrongSecrets: 10,
  wrongSecretsWindowMs: 86_400_000,
  durationMs: 86_400_000,
};
const T0 = Date.UTC(2026, 0, 1);
const subjects = (cardHash: string, extra: Partial<IntakeSubjects> = {}): IntakeSubjects => ({
  cardHash,
  cardLabel: 'cmcc_national *************1234',
  channelId: 'ch_1',
  sellerId: 's1',
  deviceId: null,
  clientIp: null,
  ...extra,
});

describe.each(storageTargets())('lockout counters on $name', (target) => {
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

  it('counts every one of 50 concurrent hits exactly once, and opens a new window when one ends', async () => {
    const h = { kind: 'card', key: 'hash-a', metric: 'try', windowMs: 300_000 } as const;
    const counts = await Promise.all(
      Array.from({ length: 50 }, () => committer.run((trx) => hit(trx, { ...h, nowMs: T0 }))),
    );
    expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await countOf(storage.db, h, T0 + 299_999)).toBe(50);
    expect(await countOf(storage.db, h, T0 + 300_000)).toBe(0);
    expect(await committer.run((trx) => hit(trx, { ...h, nowMs: T0 + 300_000 }))).toBe(1);
    // Another window of the same subject is another counter.
    expect(await committer.run((trx) => hit(trx, { ...h, windowMs: 60_000, nowMs: T0 }))).toBe(1);
  });

  it('lets exactly three of 20 concurrent tries of one card through and locks it once', async () => {
    const service = createLockoutService({
      db: storage.db,
      committer,
      clock: { now: () => T0 },
      settings: SETTINGS,
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        committer.run((trx) => service.guard.admit(trx, subjects('hash-b'), T0)),
      ),
    );
    expect(answers.filter((a) => a === null)).toHaveLength(3);
    expect(answers.filter((a) => a?.code === 'card_locked')).toHaveLength(17);
    const locks = await storage.db
      .selectFrom('lockouts')
      .selectAll()
      .where('subject_key', '=', 'hash-b')
      .execute();
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatchObject({ subject_kind: 'card', reason: 'tries', expires_at: T0 + 86_400_000 });
    // Past the tries window the lock still holds; past its day it does not.
    expect(
      await committer.run((trx) => service.guard.admit(trx, subjects('hash-b'), T0 + 600_000)),
    ).toMatchObject({
      code: 'card_locked',
    });
    expect(
      await committer.run((trx) => service.guard.admit(trx, subjects('hash-b'), T0 + 86_400_001)),
    ).toBeNull();
  });

  it('counts concurrent wrong secrets per subject exactly and blocks a seller once at its threshold', async () => {
    const service = createLockoutService({
      db: storage.db,
      committer,
      clock: { now: () => T0 },
      settings: SETTINGS,
    });
    // 12 wrong secrets of different cards from one seller and one IP, at once.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        committer.run((trx) =>
          service.countWrongSecret(
            trx,
            subjects(`hash-c${i}`, { sellerId: 'greedy', clientIp: '198.51.100.9' }),
            T0,
          ),
        ),
      ),
    );
    const count = (kind: 'seller' | 'ip', key: string) =>
      countOf(storage.db, { kind, key, metric: 'wrong_secret', windowMs: SETTINGS.wrongSecretsWindowMs }, T0);
    expect(await count('seller', 'ch_1:greedy')).toBe(12);
    expect(await count('ip', 'ch_1:198.51.100.9')).toBe(12);
    const blocks = await storage.db
      .selectFrom('lockouts')
      .select(['subject_kind', 'label'])
      .where('subject_kind', 'in', ['seller', 'ip'])
      .orderBy('subject_kind')
      .execute();
    expect(blocks).toEqual([
      { subject_kind: 'ip', label: 'ip 198.51.100.9 of ch_1' },
      { subject_kind: 'seller', label: 'seller greedy of ch_1' },
    ]);
    // The same seller in another channel is another seller.
    const fresh = await committer.run((trx) =>
      service.guard.admit(trx, subjects('hash-d', { sellerId: 'greedy', channelId: 'ch_2' }), T0),
    );
    expect(fresh).toBeNull();
    const refused = await committer.run((trx) =>
      service.guard.admit(trx, subjects('hash-e', { sellerId: 'greedy' }), T0),
    );
    expect(refused).toMatchObject({ code: 'too_many_wrong_secrets', retryAfterS: 86_400 });
  });

  it('answers many tries at once as one at a time: its own count per card, the later of two locks', async () => {
    const service = createLockoutService({
      db: storage.db,
      committer,
      clock: { now: () => T0 },
      settings: SETTINGS,
    });
    const seller = { sellerId: 'twice-locked', channelId: 'ch_3' };
    // Two lockouts of one seller in force: one a day long, one ending at T0 + 1 s (read last).
    for (const [id, ends] of [
      ['lck_long', T0 + 86_400_000],
      ['lck_short', T0 + 1000],
    ] as const)
      await storage.db
        .insertInto('lockouts')
        .values({
          id,
          subject_kind: 'seller',
          subject_key: 'ch_3:twice-locked',
          label: 'seller twice-locked of ch_3',
          reason: 'wrong_secrets',
          created_at: T0,
          expires_at: ends,
          released_at: null,
        })
        .execute();
    // A card tried twice before: its third try in the slice reaches the threshold and locks it.
    for (let i = 0; i < 2; i++)
      await committer.run((trx) => service.guard.admit(trx, subjects('hash-m1'), T0));
    const answers = await committer.run((trx) =>
      service.guard.admitMany(trx, [
        { subjects: subjects('hash-m1'), nowMs: T0 + 10 },
        { subjects: subjects('hash-m2'), nowMs: T0 + 10 },
        { subjects: subjects('hash-m3', seller), nowMs: T0 + 5000 },
      ]),
    );
    expect(answers[0]).toBeNull();
    expect(answers[1]).toBeNull();
    expect(answers[2]).toMatchObject({ code: 'too_many_wrong_secrets' });
    // The third try locked the card: the next one, alone, is refused.
    expect(
      await committer.run((trx) => service.guard.admit(trx, subjects('hash-m1'), T0 + 20)),
    ).toMatchObject({
      code: 'card_locked',
    });
    expect(
      await countOf(
        storage.db,
        { kind: 'card', key: 'hash-m2', metric: 'try', windowMs: SETTINGS.cardTriesWindowMs },
        T0,
      ),
    ).toBe(1);
  });
});
