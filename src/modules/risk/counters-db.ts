import { sql, type Transaction } from 'kysely';
import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { Database } from '../../storage/schema.js';
import {
  type BucketRange,
  type BucketValue,
  bucketsToAdd,
  type CounterSpec,
  type CounterValue,
  checkAmount,
  checkNow,
  checkObservation,
  checkSpecs,
  checkWindow,
  type Moments,
  mergeMoments,
  olderRangesToRead,
  type RiskCounters,
  rangesToRead,
  sumBuckets,
  windowExpiry,
  windowStart,
} from './counters.js';

type Statement = ReturnType<typeof prepared<Record<string, unknown>>>;

/** One prepared statement per number of distinct counters (a handful of shapes in practice). */
function perCount(build: (n: number) => Statement): (n: number) => Statement {
  const made = new Map<number, Statement>();
  return (n) => {
    let s = made.get(n);
    if (!s) {
      s = build(n);
      made.set(n, s);
    }
    return s;
  };
}

/**
 * N buckets, one statement: a multi-row upsert on (key, window_ms, window_start), `window_ms` being
 * the bucket's length. A row is the bucket's totals; an add to a bucket that has a row adds to it,
 * else opens it, and keeps the later expiry. On PostgreSQL each row's lock is held to the intake's
 * commit, so concurrent adds queue on it and none is lost; rows are given in one sorted order so that
 * two intakes never wait on each other crosswise.
 */
const addStatement = perCount((n) =>
  prepared<Record<string, unknown>>((db, p) =>
    db
      .insertInto('risk_counters')
      .values(
        Array.from({ length: n }, (_, i) => ({
          key: p[`k${i}`] as string,
          window_ms: p[`w${i}`] as number,
          window_start: p[`s${i}`] as number,
          count: 1,
          amount: p.amount as number,
          expires_at: p[`e${i}`] as number,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['key', 'window_ms', 'window_start']).doUpdateSet((eb) => ({
          count: eb('risk_counters.count', '+', 1),
          amount: eb('risk_counters.amount', '+', eb.ref('excluded.amount')),
          expires_at: sql<number>`case when excluded.expires_at > risk_counters.expires_at then excluded.expires_at else risk_counters.expires_at end`,
        })),
      )
      .returning(['key', 'window_ms', 'window_start', 'count', 'amount']),
  ),
);

/** The buckets of N ranges (key, bucket length, first and last start), one statement. */
const rangeStatement = perCount((n) =>
  prepared<Record<string, unknown>>((db, p) =>
    db
      .selectFrom('risk_counters')
      .select(['key', 'window_ms', 'window_start', 'count', 'amount'])
      .where((w) =>
        w.or(
          Array.from({ length: n }, (_, i) =>
            w.and([
              w('key', '=', p[`k${i}`] as string),
              w('window_ms', '=', p[`w${i}`] as number),
              w('window_start', '>=', p[`f${i}`] as number),
              w('window_start', '<=', p[`l${i}`] as number),
            ]),
          ),
        ),
      ),
  ),
);

type ObserveParams = {
  key: string;
  windowMs: number;
  start: number;
  prevStart: number;
  expires: number;
  x: number;
};

/** The previous window's row of the same key, read by a scalar subquery. */
function previous(db: Db, p: ObserveParams, column: 'n' | 'mean' | 'm2') {
  return db
    .selectFrom('risk_moments as prev')
    .select(`prev.${column}`)
    .where('prev.key', '=', p.key)
    .where('prev.window_ms', '=', p.windowMs)
    .where('prev.window_start', '=', p.prevStart);
}

/**
 * One Welford step inside the upsert's SET, which reads the row as it was (SQL evaluates every
 * right-hand side against the old row): the same floating-point operations as `welfordAdd`. The old
 * values are kept in `prior_*`, which RETURNING gives back exactly, with the previous window's row.
 */
const observeStatement = prepared<ObserveParams>((db, p) =>
  db
    .insertInto('risk_moments')
    .values({
      key: p.key,
      window_ms: p.windowMs,
      window_start: p.start,
      n: 1,
      mean: p.x,
      m2: 0,
      prior_n: 0,
      prior_mean: 0,
      prior_m2: 0,
      expires_at: p.expires,
    })
    .onConflict((oc) =>
      oc.columns(['key', 'window_ms', 'window_start']).doUpdateSet((eb) => ({
        prior_n: eb.ref('risk_moments.n'),
        prior_mean: eb.ref('risk_moments.mean'),
        prior_m2: eb.ref('risk_moments.m2'),
        n: sql<number>`risk_moments.n + 1`,
        mean: sql<number>`risk_moments.mean + (${p.x} - risk_moments.mean) / (risk_moments.n + 1)`,
        m2: sql<number>`risk_moments.m2 + (${p.x} - risk_moments.mean) * (${p.x} - (risk_moments.mean + (${p.x} - risk_moments.mean) / (risk_moments.n + 1)))`,
      })),
    )
    .returning([
      'prior_n',
      'prior_mean',
      'prior_m2',
      () => previous(db, p, 'n').as('prev_n'),
      () => previous(db, p, 'mean').as('prev_mean'),
      () => previous(db, p, 'm2').as('prev_m2'),
    ]),
);

const peekMomentsStatement = prepared<{ key: string; windowMs: number; start: number; prevStart: number }>(
  (db, p) =>
    db
      .selectFrom('risk_moments')
      .select(['window_start', 'n', 'mean', 'm2'])
      .where('key', '=', p.key)
      .where('window_ms', '=', p.windowMs)
      .where((w) => w.or([w('window_start', '=', p.start), w('window_start', '=', p.prevStart)])),
);

type Num = number | string;
type BucketRow = { key: string; window_ms: Num; window_start: Num; count: Num; amount: Num };

const bucketOf = (r: BucketRow): BucketValue => ({
  key: r.key,
  bucketMs: Number(r.window_ms),
  start: Number(r.window_start),
  count: Number(r.count),
  amount: Number(r.amount),
});

/** Reads the buckets of `ranges`, one statement. */
async function readRanges(db: Db, ranges: BucketRange[]): Promise<BucketValue[]> {
  if (ranges.length === 0) return [];
  const p: Record<string, unknown> = {};
  ranges.forEach((r, i) => {
    p[`k${i}`] = r.key;
    p[`w${i}`] = r.bucketMs;
    p[`f${i}`] = r.first;
    p[`l${i}`] = r.last;
  });
  const { rows } = await rangeStatement(ranges.length).run<BucketRow>(db, p);
  return rows.map(bucketOf);
}

function moments(
  n: Num | null | undefined,
  mean: Num | null | undefined,
  m2: Num | null | undefined,
): Moments {
  return n === null || n === undefined || Number(n) === 0
    ? { n: 0, mean: 0, m2: 0 }
    : { n: Number(n), mean: Number(mean), m2: Number(m2) };
}

/** The counters in the database (SQLite or PostgreSQL), written in the caller's transaction. */
export class DbRiskCounters implements RiskCounters {
  async add(
    trx: Transaction<Database>,
    specs: CounterSpec[],
    amount: number,
    nowMs: number,
  ): Promise<CounterValue[]> {
    checkSpecs(specs, nowMs);
    checkAmount(amount);
    if (specs.length === 0) return [];
    const writes = bucketsToAdd(specs, nowMs);
    const p: Record<string, unknown> = { amount };
    writes.forEach((b, i) => {
      p[`k${i}`] = b.key;
      p[`w${i}`] = b.bucketMs;
      p[`s${i}`] = b.start;
      p[`e${i}`] = b.expiresAt;
    });
    const { rows } = await addStatement(writes.length).run<BucketRow>(trx, p);
    // The current buckets come back from the upsert; a sliding window's older ones are read.
    const older = await readRanges(trx, olderRangesToRead(specs, nowMs));
    return sumBuckets(specs, [...rows.map(bucketOf), ...older], nowMs);
  }

  async peek(db: Db, specs: CounterSpec[], nowMs: number): Promise<CounterValue[]> {
    checkSpecs(specs, nowMs);
    if (specs.length === 0) return [];
    return sumBuckets(specs, await readRanges(db, rangesToRead(specs, nowMs)), nowMs);
  }

  async observe(
    trx: Transaction<Database>,
    key: string,
    windowMs: number,
    x: number,
    nowMs: number,
  ): Promise<Moments> {
    checkObservation(key, x);
    checkWindow(windowMs);
    checkNow(nowMs);
    const start = windowStart(nowMs, windowMs);
    const { rows } = await observeStatement.run<{
      prior_n: Num;
      prior_mean: Num;
      prior_m2: Num;
      prev_n: Num | null;
      prev_mean: Num | null;
      prev_m2: Num | null;
    }>(trx, {
      key,
      windowMs,
      start,
      prevStart: start - windowMs,
      expires: windowExpiry(start, windowMs),
      x,
    });
    const r = rows[0];
    if (!r) throw new Error('risk_moments upsert returned no row');
    return mergeMoments(
      moments(r.prev_n, r.prev_mean, r.prev_m2),
      moments(r.prior_n, r.prior_mean, r.prior_m2),
    );
  }

  /** The statistics `observe` would return now (current window merged with the previous), adding nothing. */
  async peekMoments(db: Db, key: string, windowMs: number, nowMs: number): Promise<Moments> {
    checkObservation(key, 0);
    checkWindow(windowMs);
    checkNow(nowMs);
    const start = windowStart(nowMs, windowMs);
    const { rows } = await peekMomentsStatement.run<{ window_start: Num; n: Num; mean: Num; m2: Num }>(db, {
      key,
      windowMs,
      start,
      prevStart: start - windowMs,
    });
    const at = (s: number) => {
      const r = rows.find((row) => Number(row.window_start) === s);
      return r ? moments(r.n, r.mean, r.m2) : moments(0, 0, 0);
    };
    return mergeMoments(at(start - windowMs), at(start));
  }
}

/**
 * Removes the windows that are neither current nor previous (`window_start + 2 × window_ms <= now`),
 * of counters and statistics; returns how many rows went. Meant for a periodic job.
 */
export async function pruneRiskCounters(db: Db, nowMs: number): Promise<number> {
  checkNow(nowMs);
  const counters = await db.deleteFrom('risk_counters').where('expires_at', '<=', nowMs).executeTakeFirst();
  const stats = await db.deleteFrom('risk_moments').where('expires_at', '<=', nowMs).executeTakeFirst();
  return Number(counters.numDeletedRows) + Number(stats.numDeletedRows);
}
