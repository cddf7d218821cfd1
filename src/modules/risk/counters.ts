import type { Redis } from 'ioredis';
import type { Transaction } from 'kysely';
import type { Db, Storage } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { DbRiskCounters } from './counters-db.js';
import { RedisRiskCounters } from './counters-redis.js';

/**
 * The counters and running statistics the risk rules read (decision 0032). Windows are fixed: a
 * window of `windowMs` is `[k·windowMs, (k+1)·windowMs)` since the epoch, so `nowMs = start +
 * windowMs − 1` still counts in a window and `start + windowMs` starts the next one, whatever the
 * process, and a rule's threshold test is exact under an injected clock.
 */

/**
 * One counter: a key (`seller:ch_x:s1`) counted over windows of `windowMs`. Without `bucketMs` the
 * window is fixed: the count is of the fixed window holding now. With `bucketMs` it slides: adds are
 * kept in fixed buckets of `bucketMs` and the count is the sum of every bucket that overlaps the last
 * `windowMs` (now − windowMs, now], so nothing in the window is ever missed and at most one bucket's
 * worth from before it is counted (an hour of 10-minute buckets counts at most 70 minutes).
 */
export interface CounterSpec {
  key: string;
  windowMs: number;
  bucketMs?: number;
}

/** The buckets a spec reads at `nowMs`: starts `first`, first + bucketMs, …, `last` (the current one). */
export interface BucketRange {
  key: string;
  bucketMs: number;
  first: number;
  last: number;
}

export function bucketRange(s: CounterSpec, nowMs: number): BucketRange {
  const bucketMs = s.bucketMs ?? s.windowMs;
  const last = windowStart(nowMs, bucketMs);
  const first = s.bucketMs === undefined ? last : windowStart(nowMs - s.windowMs + 1, bucketMs);
  return { key: s.key, bucketMs, first, last };
}

/** When a bucket starting at `start` is no longer read by `s`: after the window that slides past it (for a fixed window, the window after it). */
export function bucketExpiry(s: CounterSpec, start: number): number {
  return start + (s.bucketMs ?? s.windowMs) + s.windowMs;
}

/** A bucket written by an add: its identity and the latest expiry any spec needs of it. */
export interface BucketWrite {
  key: string;
  bucketMs: number;
  start: number;
  expiresAt: number;
}

/**
 * The current buckets `specs` add to, each once, sorted by key then bucket length (so that
 * concurrent multi-row upserts on PostgreSQL take their row locks in one order and never deadlock).
 */
export function bucketsToAdd(specs: readonly CounterSpec[], nowMs: number): BucketWrite[] {
  const seen = new Map<string, BucketWrite>();
  for (const s of specs) {
    const { bucketMs, last } = bucketRange(s, nowMs);
    const id = specId(s.key, bucketMs);
    const expiresAt = bucketExpiry(s, last);
    const had = seen.get(id);
    if (!had) seen.set(id, { key: s.key, bucketMs, start: last, expiresAt });
    else if (expiresAt > had.expiresAt) had.expiresAt = expiresAt;
  }
  return [...seen.values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.bucketMs - b.bucketMs,
  );
}

/** The bucket ranges `specs` read, merged per key and bucket length (widest range). */
export function rangesToRead(specs: readonly CounterSpec[], nowMs: number): BucketRange[] {
  const seen = new Map<string, BucketRange>();
  for (const s of specs) {
    const r = bucketRange(s, nowMs);
    const id = specId(s.key, r.bucketMs);
    const had = seen.get(id);
    if (!had) seen.set(id, r);
    else {
      had.first = Math.min(had.first, r.first);
      had.last = Math.max(had.last, r.last);
    }
  }
  return [...seen.values()];
}

/** The buckets before the current one that sliding specs read (an add knows the current ones). */
export function olderRangesToRead(specs: readonly CounterSpec[], nowMs: number): BucketRange[] {
  return rangesToRead(specs, nowMs)
    .filter((r) => r.first < r.last)
    .map((r) => ({ ...r, last: r.last - r.bucketMs }));
}

/** One stored bucket, as the implementations read it back. */
export interface BucketValue {
  key: string;
  bucketMs: number;
  start: number;
  count: number;
  amount: number;
}

/** Each spec's total: the sum of its buckets among `buckets` (a missing bucket counts zero). */
export function sumBuckets(
  specs: readonly CounterSpec[],
  buckets: readonly BucketValue[],
  nowMs: number,
): CounterValue[] {
  const byId = new Map<string, BucketValue[]>();
  for (const b of buckets) {
    const id = specId(b.key, b.bucketMs);
    const list = byId.get(id);
    if (list) list.push(b);
    else byId.set(id, [b]);
  }
  return specs.map((s) => {
    const r = bucketRange(s, nowMs);
    let count = 0;
    let amount = 0;
    for (const b of byId.get(specId(s.key, r.bucketMs)) ?? [])
      if (b.start >= r.first && b.start <= r.last) {
        count += b.count;
        amount += b.amount;
      }
    return { count, amount };
  });
}

/** Orders counted and their amount (integer minor units) in the window, INCLUDING this add. */
export interface CounterValue {
  count: number;
  amount: number;
}

/** Running statistics (Welford): count, mean and the sum of squared deviations from the mean. */
export interface Moments {
  n: number;
  mean: number;
  m2: number;
}

export interface RiskCounters {
  /**
   * Adds one order of `amount` to each counter and returns each counter's totals after the add, in
   * the order of `specs` (a spec given twice is one counter, counted once, its value in both places).
   * On the database it runs in `trx` (the intake's transaction: a rolled-back intake has not
   * counted). Redis ignores trx: there an add counts as soon as it is made.
   */
  add(
    trx: Transaction<Database>,
    specs: CounterSpec[],
    amount: number,
    nowMs: number,
  ): Promise<CounterValue[]>;
  /** Totals of each counter's window holding `nowMs`, without adding (zeros for a counter never added). */
  peek(db: Db, specs: CounterSpec[], nowMs: number): Promise<CounterValue[]>;
  /**
   * Adds x to the running statistics of `key` for the window that holds nowMs and returns the
   * statistics BEFORE x was added, for the current window merged with the previous one (Chan et al.
   * parallel merge), so a fresh window is not empty. Redis ignores trx, as in `add`.
   */
  observe(
    trx: Transaction<Database>,
    key: string,
    windowMs: number,
    x: number,
    nowMs: number,
  ): Promise<Moments>;
  /** What `observe` would return at `nowMs` (current window merged with the previous), adding nothing. */
  peekMoments(db: Db, key: string, windowMs: number, nowMs: number): Promise<Moments>;
}

export const EMPTY_MOMENTS: Readonly<Moments> = Object.freeze({ n: 0, mean: 0, m2: 0 });

/** The start of the fixed window of `windowMs` that holds `nowMs` (a multiple of windowMs). */
export function windowStart(nowMs: number, windowMs: number): number {
  return nowMs - (((nowMs % windowMs) + windowMs) % windowMs);
}

/** When the window starting at `start` is no longer needed: it is neither current nor previous. */
export function windowExpiry(start: number, windowMs: number): number {
  return start + 2 * windowMs;
}

/** One step of Welford's algorithm: the statistics with x added. */
export function welfordAdd(m: Moments, x: number): Moments {
  const n = m.n + 1;
  const d = x - m.mean;
  const mean = m.mean + d / n;
  return { n, mean, m2: m.m2 + d * (x - mean) };
}

/** The statistics of two disjoint sets together (Chan, Golub and LeVeque's pairwise merge). */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (b.n === 0) return { n: a.n, mean: a.mean, m2: a.m2 };
  if (a.n === 0) return { n: b.n, mean: b.mean, m2: b.m2 };
  const n = a.n + b.n;
  const d = b.mean - a.mean;
  return { n, mean: a.mean + (d * b.n) / n, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
}

/** Sample variance (m2 / (n − 1)); 0 below two values. Never negative (rounding is clamped). */
export function variance(m: Moments): number {
  return m.n < 2 ? 0 : Math.max(0, m.m2) / (m.n - 1);
}

/** Sample standard deviation: √variance; 0 below two values. */
export function stddev(m: Moments): number {
  return Math.sqrt(variance(m));
}

/** Refuses arguments no caller should pass (a bug, not bad input): thrown, not returned. */
export function checkSpecs(specs: readonly CounterSpec[], nowMs: number): void {
  checkNow(nowMs);
  for (const s of specs) {
    if (typeof s.key !== 'string' || s.key.length === 0)
      throw new RangeError('counter key must be non-empty');
    checkWindow(s.windowMs);
    if (s.bucketMs !== undefined) {
      checkWindow(s.bucketMs);
      if (s.bucketMs > s.windowMs) throw new RangeError('bucketMs must not exceed windowMs');
    }
  }
}

export function checkAmount(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new RangeError(`amount must be a non-negative integer (minor units), got ${amount}`);
}

export function checkWindow(windowMs: number): void {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0)
    throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
}

export function checkNow(nowMs: number): void {
  if (!Number.isSafeInteger(nowMs)) throw new RangeError(`nowMs must be an integer, got ${nowMs}`);
}

export function checkObservation(key: string, x: number): void {
  if (typeof key !== 'string' || key.length === 0) throw new RangeError('statistics key must be non-empty');
  if (!Number.isFinite(x)) throw new RangeError(`observed value must be finite, got ${x}`);
}

/** Identity of a row of buckets (key and bucket length): specs equal by it add to the same buckets. */
export function specId(key: string, windowMs: number): string {
  return `${windowMs}\u0000${key}`;
}

export interface RiskCountersOptions {
  /** The database the DB implementation runs on (either; only `add`'s trx and `peek`'s db are used). */
  storage?: Storage;
  db?: Db;
  /** A connected ioredis client: the counters then live in Redis, shared by every process. */
  redis?: Redis;
  /** Prefix of the Redis keys (default `recard:risk:`). */
  redisPrefix?: string;
}

/**
 * The counters for this deployment: in Redis when a client is given (several processes share them),
 * else in the database of `storage` / `db` (SQLite or PostgreSQL, in the caller's transaction).
 */
export function createRiskCounters(options: RiskCountersOptions): RiskCounters {
  if (options.redis) return new RedisRiskCounters(options.redis, options.redisPrefix);
  if (!options.storage && !options.db)
    throw new Error('createRiskCounters needs a storage, a db or a redis client');
  return new DbRiskCounters();
}
