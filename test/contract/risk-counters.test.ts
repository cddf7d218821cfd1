import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CounterSpec,
  createRiskCounters,
  EMPTY_MOMENTS,
  type Moments,
  mergeMoments,
  type RiskCounters,
  welfordAdd,
} from '../../src/modules/risk/counters.js';
import { DbRiskCounters, pruneRiskCounters } from '../../src/modules/risk/counters-db.js';
import { RedisRiskCounters } from '../../src/modules/risk/counters-redis.js';
import type { Db, Storage } from '../../src/storage/database.js';
import { type Committer, createCommitter } from '../../src/storage/group-commit.js';
import type { Database } from '../../src/storage/schema.js';
import { storageTargets, type TestLocation } from '../harness/storage.js';

/**
 * One contract for every place the risk counters live: the database (SQLite, and PostgreSQL when
 * RECARD_TEST_DATABASE_URL is set) and Redis (a real server on 127.0.0.1:6379, as the rate-limit
 * suite uses). Each implementation is opened twice, as two processes would: two pools on one
 * database, or two Redis clients.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A window start of both lengths (a multiple of a day), so boundaries are known exactly. */
const T0 = 20_454 * DAY;

interface Process {
  counters: RiskCounters;
  db: Db;
  /** Runs `work` as an intake unit: in the group committer (SQLite) or one transaction (PostgreSQL). */
  unit<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
}

interface Fixture {
  name: string;
  /** Whether `add` and `observe` belong to the caller's transaction (the database) or not (Redis). */
  transactional: boolean;
  /** Several connections, so that concurrent adds really run concurrently (PostgreSQL, Redis). */
  concurrent: boolean;
  a: Process;
  b: Process;
  storage: Storage;
  close(): Promise<void>;
}

function processOf(storage: Storage, counters: RiskCounters): Process {
  const committer: Committer = createCommitter(storage.db, storage.dialect);
  return { counters, db: storage.db, unit: (work) => committer.run(work) };
}

async function databaseFixture(target: ReturnType<typeof storageTargets>[number]): Promise<Fixture> {
  const location: TestLocation = await target.fresh();
  const first = await location.open();
  const second = await location.open({ migrate: false });
  return {
    name: `database (${target.name})`,
    transactional: true,
    concurrent: target.name === 'postgres',
    a: processOf(first, createRiskCounters({ storage: first })),
    b: processOf(second, createRiskCounters({ db: second.db })),
    storage: first,
    close: () => location.destroy(),
  };
}

async function redisFixture(): Promise<Fixture> {
  const location = await storageTargets()[0]?.fresh();
  if (!location) throw new Error('no SQLite target');
  const storage = await location.open();
  const prefix = `recard:test:risk:${randomBytes(6).toString('hex')}:`;
  const clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  return {
    name: 'Redis',
    transactional: false,
    concurrent: true,
    a: processOf(storage, createRiskCounters({ storage, redis: clients[0], redisPrefix: prefix })),
    b: processOf(storage, new RedisRiskCounters(clients[1] as Redis, prefix)),
    storage,
    async close() {
      const c = clients[0] as Redis;
      const keys = await c.keys(`${prefix}*`);
      if (keys.length > 0) await c.del(...keys);
      for (const client of clients) client.disconnect();
      await location.destroy();
    },
  };
}

const fold = (xs: number[]) => xs.reduce(welfordAdd, EMPTY_MOMENTS);

/** Two-pass statistics, the reference. */
function naive(xs: number[]): Moments {
  if (xs.length === 0) return { n: 0, mean: 0, m2: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { n: xs.length, mean, m2: xs.reduce((a, x) => a + (x - mean) ** 2, 0) };
}

function expectClose(actual: Moments, expected: Moments): void {
  expect(actual.n).toBe(expected.n);
  expect(actual.mean).toBeCloseTo(expected.mean, 6);
  expect(Math.abs(actual.m2 - expected.m2)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected.m2)));
}

const fixtures: Array<[string, () => Promise<Fixture>]> = [
  ...storageTargets().map((t): [string, () => Promise<Fixture>] => [
    `database (${t.name})`,
    () => databaseFixture(t),
  ]),
  ['Redis', redisFixture],
];

describe.each(fixtures)('risk counters: %s', (_name, make) => {
  let f: Fixture;
  let n = 0;
  /** A key no other test uses. */
  const fresh = (what: string) => `${what}:${++n}:${randomBytes(3).toString('hex')}`;
  const add = (p: Process, specs: CounterSpec[], amount: number, now: number) =>
    p.unit((trx) => p.counters.add(trx, specs, amount, now));
  const observe = (p: Process, key: string, w: number, x: number, now: number) =>
    p.unit((trx) => p.counters.observe(trx, key, w, x, now));

  beforeAll(async () => {
    f = await make();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('returns the totals after each add, this add included, and peek reads them without adding', async () => {
    const seller = { key: fresh('seller'), windowMs: HOUR };
    const card = { key: fresh('card'), windowMs: DAY };
    expect(await add(f.a, [seller, card], 100, T0 + 5)).toEqual([
      { count: 1, amount: 100 },
      { count: 1, amount: 100 },
    ]);
    expect(await add(f.b, [seller, card], 250, T0 + 6)).toEqual([
      { count: 2, amount: 350 },
      { count: 2, amount: 350 },
    ]);
    expect(await add(f.a, [card, seller], 50, T0 + 7)).toEqual([
      { count: 3, amount: 400 },
      { count: 3, amount: 400 },
    ]);
    expect(await f.b.counters.peek(f.b.db, [seller, card], T0 + 8)).toEqual([
      { count: 3, amount: 400 },
      { count: 3, amount: 400 },
    ]);
    expect(await f.a.counters.peek(f.a.db, [seller], T0 + 9)).toEqual([{ count: 3, amount: 400 }]);
    expect(await add(f.a, [], 1, T0)).toEqual([]);
  });

  it('keeps keys and window lengths apart, answers in the order asked, and counts a repeated spec once', async () => {
    const key = fresh('channel');
    const other = fresh('channel');
    const hourly = { key, windowMs: HOUR };
    const daily = { key, windowMs: DAY };
    await add(f.a, [hourly, daily], 10, T0 + 1);
    await add(f.a, [{ key: other, windowMs: HOUR }], 7, T0 + 2);
    // Eight specs, unsorted, one repeated: each position gets its own counter's total.
    const eight: CounterSpec[] = [
      daily,
      { key: fresh('ip'), windowMs: HOUR },
      hourly,
      { key: other, windowMs: HOUR },
      hourly,
      { key: fresh('device'), windowMs: DAY },
      { key: fresh('card'), windowMs: DAY },
      { key: fresh('seller'), windowMs: 10 * 60_000 },
    ];
    expect(await add(f.b, eight, 5, T0 + 3)).toEqual([
      { count: 2, amount: 15 },
      { count: 1, amount: 5 },
      { count: 2, amount: 15 },
      { count: 2, amount: 12 },
      { count: 2, amount: 15 },
      { count: 1, amount: 5 },
      { count: 1, amount: 5 },
      { count: 1, amount: 5 },
    ]);
    // The next hour: the hourly counter starts again, the daily one goes on.
    expect(await add(f.a, [hourly, daily], 1, T0 + HOUR)).toEqual([
      { count: 1, amount: 1 },
      { count: 3, amount: 16 },
    ]);
    expect(await f.a.counters.peek(f.a.db, [{ key: fresh('never'), windowMs: HOUR }], T0)).toEqual([
      { count: 0, amount: 0 },
    ]);
  });

  it('the window boundary: start + windowMs − 1 counts in the window, start + windowMs starts anew', async () => {
    const spec = { key: fresh('seller'), windowMs: HOUR };
    const start = T0 + 7 * HOUR;
    expect(await add(f.a, [spec], 1, start - 1)).toEqual([{ count: 1, amount: 1 }]);
    expect(await add(f.a, [spec], 10, start)).toEqual([{ count: 1, amount: 10 }]);
    expect(await add(f.b, [spec], 20, start + HOUR - 1)).toEqual([{ count: 2, amount: 30 }]);
    expect(await f.a.counters.peek(f.a.db, [spec], start + HOUR - 1)).toEqual([{ count: 2, amount: 30 }]);
    expect(await f.a.counters.peek(f.a.db, [spec], start + HOUR)).toEqual([{ count: 0, amount: 0 }]);
    expect(await add(f.b, [spec], 40, start + HOUR)).toEqual([{ count: 1, amount: 40 }]);
    expect(await f.a.counters.peek(f.a.db, [spec], start)).toEqual([{ count: 2, amount: 30 }]);
    expect(await f.a.counters.peek(f.a.db, [spec], start - 1)).toEqual([{ count: 1, amount: 1 }]);
  });

  it('a sliding window sums its buckets: every add of the last hour, nothing older than an hour and a bucket', async () => {
    const TEN = 10 * 60_000;
    const key = fresh('sliding');
    const hour = { key, windowMs: HOUR, bucketMs: TEN };
    const day = { key, windowMs: DAY, bucketMs: HOUR };
    const t = T0 + 2 * DAY;
    // Adds at 0:05, 0:35 and 0:55 (10, 20, 30), from both processes.
    await add(f.a, [hour, day], 10, t + 5 * 60_000);
    await add(f.b, [hour, day], 20, t + 35 * 60_000);
    expect(await add(f.a, [hour, day], 30, t + 55 * 60_000)).toEqual([
      { count: 3, amount: 60 },
      { count: 3, amount: 60 },
    ]);
    // 1:04: the window (0:04, 1:04] holds all three.
    expect(await add(f.b, [hour, day], 1, t + 64 * 60_000)).toEqual([
      { count: 4, amount: 61 },
      { count: 4, amount: 61 },
    ]);
    // 1:09:59.999: the window starts at 0:10, exactly a bucket: the 0:05 add has left it.
    expect(await f.a.counters.peek(f.a.db, [hour, day], t + 70 * 60_000 - 1)).toEqual([
      { count: 3, amount: 51 },
      { count: 4, amount: 61 },
    ]);
    // 1:15: the 0:05 bucket is out, the 0:35 one in (the window is (0:15, 1:15]).
    expect(await f.b.counters.peek(f.b.db, [hour], t + 75 * 60_000)).toEqual([{ count: 3, amount: 51 }]);
    // 1:40: only the 0:55 and 1:04 adds; the day still holds all four.
    expect(await f.a.counters.peek(f.a.db, [hour, day], t + 100 * 60_000)).toEqual([
      { count: 2, amount: 31 },
      { count: 4, amount: 61 },
    ]);
    // A fixed hour of the same key reads the hour-long buckets the day window writes: 1:04's add.
    expect(await f.a.counters.peek(f.a.db, [{ key, windowMs: HOUR }], t + 100 * 60_000)).toEqual([
      { count: 1, amount: 1 },
    ]);
    // A day and an hour later everything has slid out.
    expect(await f.a.counters.peek(f.a.db, [hour, day], t + DAY + 2 * HOUR)).toEqual([
      { count: 0, amount: 0 },
      { count: 0, amount: 0 },
    ]);
  });

  it('200 concurrent adds from two processes lose nothing, and each sees its own total', async () => {
    const specs = Array.from({ length: 8 }, (_, i) => ({
      key: fresh(`hot${i}`),
      windowMs: i % 2 ? HOUR : DAY,
    }));
    // Half of them in reverse order: the same counters locked from both ends must not deadlock.
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        add(i % 2 ? f.a : f.b, i % 4 < 2 ? specs : [...specs].reverse(), i + 1, T0 + 100 + i),
      ),
    );
    const firsts = results.map((r, i) => (i % 4 < 2 ? r[0] : r[7])?.count);
    expect([...firsts].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const total = (200 * 201) / 2;
    expect(await f.a.counters.peek(f.a.db, specs, T0 + 400)).toEqual(
      specs.map(() => ({ count: 200, amount: total })),
    );
  });

  it('observe returns the statistics before x, of this window merged with the previous one', async () => {
    const key = fresh('amounts');
    const w = HOUR;
    const start = T0 + 3 * HOUR;
    const windows = [
      [1_000, 2_500, 10_000, 1_000, 999],
      [50_000, 3, 7_777],
      [123_456, 2, 0, 65_000],
    ];
    const all: number[][] = [];
    for (const [i, xs] of windows.entries()) {
      const current: number[] = [];
      for (const [j, x] of xs.entries()) {
        const now = start + i * w + j * 1_000;
        const before = await observe(j % 2 ? f.b : f.a, key, w, x, now);
        const previous = all[i - 1] ?? [];
        // Exactly the pure functions' result: the same Welford steps, the same merge.
        expect(before).toEqual(mergeMoments(fold(previous), fold(current)));
        expectClose(before, naive([...previous, ...current]));
        current.push(x);
        expect(await f.a.counters.peekMoments(f.a.db, key, w, now)).toEqual(
          mergeMoments(fold(previous), fold(current)),
        );
      }
      all.push(current);
    }
    // A window later than the next: the last one with values is no longer the previous.
    expect(await observe(f.a, key, w, 5, start + 5 * w)).toEqual({ n: 0, mean: 0, m2: 0 });
    // Another window length of the same key is its own statistic.
    expect(await observe(f.a, key, DAY, 9, start)).toEqual({ n: 0, mean: 0, m2: 0 });
  });

  it('observe under 100 concurrent calls from two processes loses no value', async () => {
    const key = fresh('concurrent');
    const xs = Array.from({ length: 100 }, (_, i) => ((i * 7919) % 1000) * 100 + 1);
    const befores = await Promise.all(xs.map((x, i) => observe(i % 2 ? f.a : f.b, key, DAY, x, T0 + i)));
    expect(befores.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expectClose(await f.a.counters.peekMoments(f.a.db, key, DAY, T0 + 1_000), naive(xs));
  });

  it('a rolled-back intake has not counted on the database (Redis counts when the add is made)', async () => {
    const spec = { key: fresh('rollback'), windowMs: HOUR };
    const key = fresh('rollback-stats');
    const failing = f.a.unit(async (trx) => {
      await f.a.counters.add(trx, [spec], 500, T0);
      await f.a.counters.observe(trx, key, HOUR, 500, T0);
      throw new Error('duplicate card');
    });
    // In the same group-commit batch on SQLite: the batch is rolled back and run again unit by unit.
    const passing = add(f.a, [{ key: fresh('other'), windowMs: HOUR }], 1, T0);
    await expect(failing).rejects.toThrow('duplicate card');
    await passing;
    const [seen] = await f.b.counters.peek(f.b.db, [spec], T0 + 1);
    const stats = await f.b.counters.peekMoments(f.b.db, key, HOUR, T0 + 1);
    if (f.transactional) {
      expect(seen).toEqual({ count: 0, amount: 0 });
      expect(stats.n).toBe(0);
    } else {
      // Redis counts every run of the unit: here twice, as SQLite's committer ran the failed batch
      // again unit by unit (decision 0032: Redis counts attempts, not commits).
      expect(seen?.count).toBeGreaterThanOrEqual(1);
      expect(seen?.amount).toBe((seen?.count ?? 0) * 500);
      expect(stats.n).toBe(seen?.count);
    }
    const counted = seen?.count ?? 0;
    // A unit that commits counts once on the database, even when its batch had to be run again.
    const batch = await Promise.all([
      add(f.a, [spec], 1, T0 + 2),
      f.a
        .unit(async () => {
          throw new Error('fails');
        })
        .catch(() => 'failed'),
    ]);
    const after = await f.b.counters.peek(f.b.db, [spec], T0 + 3);
    if (f.transactional) {
      expect(batch[0]).toEqual([{ count: 1, amount: 1 }]);
      expect(after).toEqual([{ count: 1, amount: 1 }]);
    } else {
      expect(after[0]?.count).toBeGreaterThan(counted);
    }
  });

  it('refuses arguments no caller should pass', async () => {
    const spec = { key: fresh('bad'), windowMs: HOUR };
    await expect(add(f.a, [spec], -1, T0)).rejects.toThrow(RangeError);
    await expect(add(f.a, [spec], 1.5, T0)).rejects.toThrow(RangeError);
    await expect(add(f.a, [{ key: spec.key, windowMs: 0 }], 1, T0)).rejects.toThrow(RangeError);
    await expect(add(f.a, [{ key: '', windowMs: HOUR }], 1, T0)).rejects.toThrow(RangeError);
    await expect(observe(f.a, spec.key, HOUR, Number.NaN, T0)).rejects.toThrow(RangeError);
    expect(await f.a.counters.peek(f.a.db, [spec], T0)).toEqual([{ count: 0, amount: 0 }]);
  });

  it('forgets a window once it is neither current nor previous (the prune on the database, expiry on Redis)', async () => {
    const spec = { key: fresh('old'), windowMs: HOUR };
    const key = fresh('old-stats');
    const start = T0 + 11 * HOUR;
    await add(f.a, [spec], 3, start + 10);
    await observe(f.a, key, HOUR, 3, start + 10);
    if (f.transactional) {
      const rows = async () => [
        (await f.storage.db.selectFrom('risk_counters').select('key').where('key', '=', spec.key).execute())
          .length,
        (await f.storage.db.selectFrom('risk_moments').select('key').where('key', '=', key).execute()).length,
      ];
      await pruneRiskCounters(f.storage.db, start + 2 * HOUR - 1);
      expect(await rows()).toEqual([1, 1]);
      // Still the previous window: what observe merges in.
      expect((await f.a.counters.peekMoments(f.a.db, key, HOUR, start + 2 * HOUR - 1)).n).toBe(1);
      expect(await pruneRiskCounters(f.storage.db, start + 2 * HOUR)).toBeGreaterThanOrEqual(2);
      expect(await rows()).toEqual([0, 0]);
    } else {
      const redis = new Redis(REDIS_URL);
      try {
        const keys = await redis.keys(`*c:${HOUR}:${start}:${spec.key}`);
        expect(keys).toHaveLength(1);
        // Made at start + 10: it lives until start + 2 h.
        const ttl = await redis.pttl(keys[0] as string);
        expect(ttl).toBeLessThanOrEqual(2 * HOUR - 10);
        expect(ttl).toBeGreaterThan(2 * HOUR - 10 - 60_000);
        const stats = await redis.keys(`*m:${HOUR}:${start}:${key}`);
        expect(await redis.pttl(stats[0] as string)).toBeGreaterThan(2 * HOUR - 10 - 60_000);
      } finally {
        redis.disconnect();
      }
    }
  });
});

describe('createRiskCounters', () => {
  it('picks Redis when a client is given, else the database', () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      expect(createRiskCounters({ db: {} as Db, redis })).toBeInstanceOf(RedisRiskCounters);
      expect(createRiskCounters({ db: {} as Db })).toBeInstanceOf(DbRiskCounters);
      expect(() => createRiskCounters({})).toThrow();
    } finally {
      redis.disconnect();
    }
  });
});
