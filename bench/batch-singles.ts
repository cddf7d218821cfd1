/**
 * A batch must not starve single orders (docs/batches.md, docs/benchmarks.md#batches): single orders
 * at RECARD_BENCH_SINGLES_RATE (20/s) end to end (signed submit → verify worker → simulated issuers in
 * their own process, 20 ms → `redeem`), first on an idle server, then while a file of
 * RECARD_BENCH_BATCH_LINES (100,000) cards of the same issuer becomes orders and is verified. Reports
 * p50/p99/max of submit → redeem in each phase (both times written by the server, on its clock) and
 * how many of the batch's orders the issuer answered meanwhile. SQLite, then PostgreSQL
 * (RECARD_BENCH_SKIP_PG=1 or RECARD_BENCH_SKIP_SQLITE=1 skips one). RECARD_BENCH_PROFILE=DIR: the server writes a CPU profile there.
 * Run after `npm run build`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { RecardClient } from '../src/client/client.js';
import type { BatchView } from '../src/modules/batches/index.js';
import { generateCardBase, type SimCard } from '../src/simulators/card-base.js';
import { openStorage } from '../src/storage/database.js';
import { dropBenchSchema, unknownCardFile } from './batch-files.js';
import { routeToSimulators, startSimulatorProcess } from './issuers.js';
import { children, createBenchChannel, startProcess } from './processes.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const LINES = Number(process.env.RECARD_BENCH_BATCH_LINES ?? 100_000);
const RATE = Number(process.env.RECARD_BENCH_SINGLES_RATE ?? 20);
const IDLE_S = Number(process.env.RECARD_BENCH_SINGLES_IDLE_S ?? 20);
/** How long single orders go on after every line of the file is an order (its verification runs on). */
const AFTER_S = Number(process.env.RECARD_BENCH_SINGLES_AFTER_S ?? 20);
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SEED = 'bench-singles';
const LATENCY_MS = 20;
const SIM_PORT = 5300 + Math.floor(Math.random() * 500);
/** Singles of three issuers; the file's cards are China Mobile's, the issuer the singles share with it. */
const CARD_TYPES = ['cmcc_national', 'telecom_national', 'jd_ecard'];
/** Enough valid cards for the longest run at RATE (warm-up, idle, a slow store's batch). */
const PER_TYPE = Math.ceil((RATE * 600) / CARD_TYPES.length);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(name: string, env: Record<string, string>, cards: SimCard[]) {
  const adminToken = `adm_${randomBytes(24).toString('hex')}`;
  const serverEnv = {
    ...env,
    RECARD_LOG_LEVEL: 'warn',
    RECARD_PORT: '0',
    RECARD_ADMIN_TOKEN: adminToken,
    RECARD_OUTBOUND_ALLOWLIST: '127.0.0.1',
    ...(process.env.RECARD_PG_POOL_SIZE ? { RECARD_PG_POOL_SIZE: process.env.RECARD_PG_POOL_SIZE } : {}),
    ...(process.env.RECARD_WORKER_CONCURRENCY
      ? { RECARD_WORKER_CONCURRENCY: process.env.RECARD_WORKER_CONCURRENCY }
      : {}),
    // The file's cards are all wrong secrets: lockouts would block its seller after ten
    // (docs/security.md). The bench measures sharing the machine, not that rule.
    RECARD_LOCKOUT_SELLER_WRONG_SECRETS: '100000',
    RECARD_LOCKOUT_IP_WRONG_SECRETS: '100000',
    RECARD_LOCKOUT_DEVICE_WRONG_SECRETS: '100000',
  };
  const { channelId, secret } = createBenchChannel(serverEnv);
  const profile = process.env.RECARD_BENCH_PROFILE; // a folder: the server writes a CPU profile there
  const url = await startProcess(
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), 'bin/recard.js', 'serve'],
    serverEnv,
    /running at (\S+)/,
  );
  const server = children.at(-1);
  await routeToSimulators({ url, adminToken, cardTypes: CARD_TYPES, port: SIM_PORT, seed: SEED });
  const client = new RecardClient({ baseUrl: url, channelId, secret });

  let next = 0;
  let refused = 0;
  const inFlight = new Set<Promise<void>>();
  const submit = (prefix: string) => {
    const card = cards[next++];
    if (!card) throw new Error('out of valid cards: lower RECARD_BENCH_SINGLES_RATE');
    const p = client
      .request('POST', '/v1/orders', {
        merchant_order_id: `${prefix}-${next}`,
        card_type: card.cardType,
        card_number: card.number,
        card_secret: card.secret,
        declared_face_value: card.faceValue,
        // Honest traffic: many sellers with a few cards each (one seller at 20/s is velocity's case).
        seller: { id: `seller-${next % 2000}` },
      })
      .then((res) => {
        if (res.status !== 201) refused++;
      });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  /** Single orders at RATE, evenly spaced, until `until()` says stop. */
  const pace = async (prefix: string, until: () => boolean) => {
    const started = performance.now();
    let sent = 0;
    while (!until()) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      while (sent < due) {
        submit(prefix);
        sent++;
      }
      await sleep(5);
    }
    await Promise.all([...inFlight]);
  };
  const forSeconds = (s: number) => {
    const end = performance.now() + s * 1000;
    return () => performance.now() >= end;
  };

  await pace('warm', forSeconds(5));
  await pace('idle', forSeconds(IDLE_S));

  // The file, and singles all the while it becomes orders and for AFTER_S more.
  let done = false;
  let orderedMs = Number.NaN;
  const t0 = performance.now();
  const batchRun = (async () => {
    const res = await client.uploadBatch<BatchView>(
      {
        merchant_batch_id: `bench-${Date.now()}`,
        format: 'text',
        card_type: 'cmcc_national',
        declared_face_value: 10000,
      },
      unknownCardFile(LINES),
      'bench.txt',
    );
    if (res.status !== 202) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    let view = res.body;
    const read = async () => {
      const got = await client.get<BatchView>(`/v1/batches/${view.id}`);
      if (got.status !== 200) throw new Error(`batch: HTTP ${got.status} ${JSON.stringify(got.body)}`);
      return got.body;
    };
    while (view.counts.pending > 0) {
      await sleep(250);
      view = await read();
    }
    orderedMs = performance.now() - t0;
    await sleep(AFTER_S * 1000);
    view = await read();
    done = true;
    return view;
  })();
  // Singles named by what the file is doing when they come: becoming orders, then being verified.
  await pace('intake', () => !Number.isNaN(orderedMs));
  await pace('verify', () => done);
  const view = await batchRun;
  const windowS = (performance.now() - t0) / 1000;
  await sleep(3000); // the last singles reach the issuer

  const storage = await openStorage(
    env.DATABASE_URL
      ? { url: env.DATABASE_URL, schema: env.RECARD_DATABASE_SCHEMA as string, poolSize: 1 }
      : { url: `sqlite:${join(env.RECARD_DATA_DIR as string, 'recard.db')}` },
  );
  const phase = async (prefix: string) => {
    const rows = await storage.db
      .selectFrom('orders as o')
      .innerJoin('order_events as e', (j) => j.onRef('e.order_id', '=', 'o.id').on('e.event', '=', 'redeem'))
      .select(sql<number>`e.created_at - o.created_at`.as('ms'))
      .where('o.merchant_order_id', 'like', `${prefix}-%`)
      .execute();
    const submitted = await storage.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('merchant_order_id', 'like', `${prefix}-%`)
      .executeTakeFirstOrThrow();
    const statuses = await storage.db
      .selectFrom('orders')
      .select(['status', 'reason', (eb) => eb.fn.countAll<number>().as('n')])
      .where('merchant_order_id', 'like', `${prefix}-%`)
      .groupBy(['status', 'reason'])
      .execute();
    process.stderr.write(`${name} ${prefix}: ${JSON.stringify(statuses)}\n`);
    // Where the time goes: waiting for the worker (submit → verifying) and the issuer's round (→ redeem).
    const split = await storage.db
      .selectFrom('orders as o')
      .innerJoin('order_events as v', (j) =>
        j.onRef('v.order_id', '=', 'o.id').on('v.to_status', '=', 'verifying'),
      )
      .innerJoin('order_events as e', (j) => j.onRef('e.order_id', '=', 'o.id').on('e.event', '=', 'redeem'))
      .select([
        'o.card_type',
        sql<number>`v.created_at - o.created_at`.as('wait'),
        sql<number>`e.created_at - v.created_at`.as('issuer'),
      ])
      .where('o.merchant_order_id', 'like', `${prefix}-%`)
      .execute();
    for (const t of CARD_TYPES) {
      const of = split.filter((r) => r.card_type === t);
      const p99 = (k: 'wait' | 'issuer') =>
        of.map((r) => Number(r[k])).sort((a, b) => a - b)[Math.floor(of.length * 0.99)];
      process.stderr.write(
        `  ${t}: n ${of.length}, wait p99 ${p99('wait')} ms, issuer p99 ${p99('issuer')} ms\n`,
      );
    }
    const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? Number.NaN;
    return {
      n: Number(submitted.n),
      redeemed: ms.length,
      p50: q(0.5),
      p99: q(0.99),
      max: ms.at(-1) ?? Number.NaN,
    };
  };
  const idle = await phase('idle');
  const during = await phase('intake');
  const after = await phase('verify');
  await storage.close();
  const exited = new Promise((r) => server?.once('exit', r));
  server?.kill('SIGTERM');
  await exited;

  const answered = view.counts.invalid + view.counts.redeemed + view.counts.failed + view.counts.review;
  const cell = (p: Awaited<ReturnType<typeof phase>>) =>
    `${p.redeemed}/${p.n} redeemed, p50 ${p.p50} ms, p99 ${p.p99} ms, max ${p.max} ms`;
  print(
    `| ${name} | ${LINES.toLocaleString('en')} | ${(orderedMs / 1000).toFixed(1)} s | ${cell(idle)} | ${cell(during)} | ${cell(after)} | ${(during.p99 / idle.p99).toFixed(2)}×, ${(after.p99 / idle.p99).toFixed(2)}× | ${answered.toLocaleString('en')} in ${windowS.toFixed(0)} s (${Math.round(answered / windowS)}/s) | ${refused} |`,
  );
}

const base = generateCardBase({
  seed: SEED,
  perLabel: { valid: PER_TYPE, used: 0, expired: 0, unactivated: 0, wrong_face_value: 0 },
  cardTypes: CARD_TYPES,
});
// Interleaved by type, so that each second's singles go to all three issuers.
const byType = CARD_TYPES.map((t) => base.filter((c) => c.cardType === t && c.label === 'valid'));
const mixed = Array.from({ length: PER_TYPE }, (_, i) => byType.map((cards) => cards[i] as SimCard)).flat();
await startSimulatorProcess({ port: SIM_PORT, seed: SEED, latencyMs: LATENCY_MS, validPerType: PER_TYPE });

print(
  `single orders at ${RATE}/s, simulated issuers ${LATENCY_MS} ms in their own process; the file: ${LINES.toLocaleString('en')} China Mobile cards`,
);
print(
  '| store | file lines | every line an order | singles idle (submit → redeem) | singles while the file becomes orders | singles while its orders are verified | p99 / idle | file orders the issuer answered meanwhile | singles refused |',
);
print('|---|---|---|---|---|---|---|---|---|');
try {
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-singles-'));
  try {
    if (!process.env.RECARD_BENCH_SKIP_SQLITE)
      await run('SQLite FULL', { RECARD_DATA_DIR: dataDir }, mixed.slice(0, Math.floor(mixed.length / 2)));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (!process.env.RECARD_BENCH_SKIP_PG) {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const pgDir = mkdtempSync(join(tmpdir(), 'recard-bench-singles-'));
    try {
      await run(
        'PostgreSQL',
        { RECARD_DATA_DIR: pgDir, DATABASE_URL: PG_URL, RECARD_DATABASE_SCHEMA: schema },
        mixed.slice(Math.floor(mixed.length / 2)),
      );
    } finally {
      rmSync(pgDir, { recursive: true, force: true });
      await dropBenchSchema(PG_URL, schema);
    }
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
