/**
 * The risk counters' cost per intake (decision 0032): one `add` of 8 counters and one `observe`, on
 * SQLite, PostgreSQL and Redis. `node --import tsx bench/risk-counters.ts`; RECARD_BENCH_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/test, a throw-away schema) and REDIS_URL (default
 * redis://127.0.0.1:6379) for those rows; either is skipped if it does not answer.
 *
 * Database rows time the statements inside one open transaction (what the intake unit pays; its
 * commit is the intake's anyway), plus PostgreSQL with a transaction per add (BEGIN, add, COMMIT).
 * 2,000 subjects in rotation, so most adds update rows and some open them, as traffic would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Transaction } from 'kysely';
import pg from 'pg';
import { hit } from '../src/modules/lockouts/store.js';
import { type CounterSpec, createRiskCounters, type RiskCounters } from '../src/modules/risk/counters.js';
import { openStorage, type Storage } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import type { Database } from '../src/storage/schema.js';

const PG_URL = process.env.RECARD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SUBJECTS = 2_000;
const NOW = Date.now();

/** The eight counters a rule set might read per order. */
function specsOf(i: number): CounterSpec[] {
  const s = i % SUBJECTS;
  return [
    { key: `seller:ch_bench:s${s}`, windowMs: 10 * 60_000 },
    { key: `seller:ch_bench:s${s}`, windowMs: HOUR },
    { key: `seller:ch_bench:s${s}`, windowMs: DAY },
    { key: `device:ch_bench:d${s % 500}`, windowMs: HOUR },
    { key: `ip:10.0.${s % 250}.1`, windowMs: HOUR },
    { key: `card:${i}`, windowMs: DAY },
    { key: `channel:ch_bench:${s % 8}`, windowMs: HOUR },
    { key: `channel:ch_bench:${s % 8}`, windowMs: DAY },
  ];
}

type Op = (trx: Transaction<Database>, i: number) => Promise<unknown>;
const addOp =
  (c: RiskCounters): Op =>
  (trx, i) =>
    c.add(trx, specsOf(i), 1_000 + (i % 97), NOW + i);
const observeOp =
  (c: RiskCounters): Op =>
  (trx, i) =>
    c.observe(trx, `amount:ch_bench:s${i % SUBJECTS}`, DAY, 1_000 + (i % 97), NOW + i);

/** Wall and this process's CPU time per operation, µs. */
type Cost = { wall: number; cpu: number };
async function timed(n: number, body: () => Promise<void>): Promise<Cost> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const wall = ((performance.now() - t0) * 1000) / n;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / n };
}

/** All inside transactions of `perTrx` operations. */
function inTransactions(storage: Storage, op: Op, n: number, perTrx: number, from: number): Promise<Cost> {
  return timed(n, async () => {
    for (let done = 0; done < n; done += perTrx)
      await storage.db.transaction().execute(async (trx) => {
        for (let i = done; i < Math.min(n, done + perTrx); i++) await op(trx, from + i);
      });
  });
}

function inFlight(op: Op, n: number, parallel: number, from: number): Promise<Cost> {
  let next = 0;
  return timed(n, async () => {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < n) {
          const i = next++;
          await op(undefined as unknown as Transaction<Database>, from + i);
        }
      }),
    );
  });
}

const rows: string[] = [];
const row = (what: string, c: Cost) =>
  rows.push(`| ${what} | ${c.wall.toFixed(1)} µs | ${c.cpu.toFixed(1)} µs |`);

async function database(name: string, storage: Storage, perAddTrx: boolean): Promise<void> {
  await migrateToLatest(storage);
  const counters = createRiskCounters({ storage });
  await inTransactions(storage, addOp(counters), 4_000, 500, 0);
  await inTransactions(storage, observeOp(counters), 4_000, 500, 0);
  row(
    `${name}: add, 8 counters (in an open transaction)`,
    await inTransactions(storage, addOp(counters), 10_000, 500, 10_000),
  );
  row(
    `${name}: add, 1 counter (in an open transaction)`,
    await inTransactions(
      storage,
      (trx, i) => counters.add(trx, specsOf(i).slice(0, 1), 1_000, NOW + i),
      10_000,
      500,
      40_000,
    ),
  );
  // For scale: the lockouts' one-row counter upsert that intake already runs (decision 0029).
  row(
    `${name}: lockouts hit, 1 row (for comparison)`,
    await inTransactions(
      storage,
      (trx, i) =>
        hit(trx, { kind: 'card', key: `c${i % SUBJECTS}`, metric: 'try', windowMs: HOUR, nowMs: NOW + i }),
      10_000,
      500,
      0,
    ),
  );
  row(
    `${name}: observe (in an open transaction)`,
    await inTransactions(storage, observeOp(counters), 10_000, 500, 10_000),
  );
  if (perAddTrx)
    row(
      `${name}: BEGIN + add of 8 + COMMIT, sequential`,
      await inTransactions(storage, addOp(counters), 2_000, 1, 70_000),
    );
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'recard-bench-risk-'));
const sqlite = await openStorage({ url: `sqlite:${join(sqliteDir, 'bench.db')}` });
try {
  await database('SQLite', sqlite, false);
} finally {
  await sqlite.close();
  rmSync(sqliteDir, { recursive: true, force: true });
}

const schema = `bench_risk_${randomBytes(4).toString('hex')}`;
try {
  const postgres = await openStorage({ url: PG_URL, schema, poolSize: 4 });
  try {
    await database('PostgreSQL (loopback)', postgres, true);
  } finally {
    await postgres.close();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
} catch (err) {
  rows.push(`| PostgreSQL | skipped: ${(err as Error).message} |`);
}

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
const prefix = `recard:bench:risk:${randomBytes(4).toString('hex')}:`;
try {
  await redis.connect();
  const counters = createRiskCounters({ redis, redisPrefix: prefix });
  await inFlight(addOp(counters), 4_000, 1, 0);
  row('Redis (loopback): add, 8 counters, sequential', await inFlight(addOp(counters), 20_000, 1, 10_000));
  row(
    'Redis (loopback): add, 8 counters, 100 in flight',
    await inFlight(addOp(counters), 50_000, 100, 40_000),
  );
  row('Redis (loopback): observe, sequential', await inFlight(observeOp(counters), 20_000, 1, 10_000));
  const keys = await redis.keys(`${prefix}*`);
  for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000));
} catch (err) {
  rows.push(`| Redis | skipped: ${(err as Error).message} |`);
} finally {
  redis.disconnect();
}

process.stdout.write(
  [
    `Risk counters per intake; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.`,
    '',
    '| store, operation | wall per operation | CPU of this process per operation |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
process.exit(0);
