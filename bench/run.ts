/**
 * `npm run bench`: load from this process (autocannon) against server processes started here, and
 * the job runtime's drain rate on each database. Prints a Markdown table for docs/benchmarks.md.
 * RECARD_BENCH_DURATION_S (default 10) and RECARD_BENCH_PG_URL (default the local test database);
 * RECARD_BENCH_ONLY=intake runs the SQLite intake row alone, RECARD_BENCH_PROFILE=<dir> profiles its server;
 * RECARD_BENCH_ONLY=auth runs only the intake signed with HMAC, RSA and SM2; RECARD_BENCH_ONLY=risk the
 * intake with the risk rules off and on.
 */
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SIGNING_HEADERS, signedHeaders, stringToSign } from '../src/client/signing.js';
import { defineJobKind } from '../src/jobs/model.js';
import { JobRuntime } from '../src/jobs/runtime.js';
import { countJobsByState, enqueueJob } from '../src/jobs/store.js';
import { systemClock } from '../src/shared/clock.js';
import {
  encodeSm2Signature,
  sm2PrivateKey,
  sm2PublicKeyOf,
  sm2Sign,
  sm2SpkiDer,
} from '../src/shared/gm/sm2.js';
import { createLogger } from '../src/shared/logger.js';
import { openStorage } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { children, createBenchChannel, startProcess } from './processes.js';

const DURATION_S = Number(process.env.RECARD_BENCH_DURATION_S ?? 10);
const CONNECTIONS = 100;
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const rows: string[] = [];

const WARMUP_S = 2;

async function load(
  title: string,
  url: string,
  request: autocannon.Request,
  connections = CONNECTIONS,
): Promise<number> {
  // JIT and caches warm up first, so that the figure is the steady state.
  await autocannon({ url, connections, duration: WARMUP_S, requests: [request] });
  const result = await autocannon({
    url,
    connections,
    duration: DURATION_S,
    requests: [request],
  });
  const ok = result['2xx'];
  const rate = ok / DURATION_S;
  rows.push(
    `| ${title} | ${Math.round(rate)} | ${result.latency.p50} | ${result.latency.p99} | ${result.non2xx + result.errors} |`,
  );
  process.stderr.write(`${title}: ${Math.round(rate)} req/s, p99 ${result.latency.p99} ms\n`);
  return rate;
}

/**
 * Every request carries its own nonce. They are signed before the run (a signature per request in the
 * load generator would measure its CPU, not the server's); timestamps stay well inside the window.
 */
function signed(
  channelId: string,
  secret: string,
  method: string,
  path: string,
  body = '',
): autocannon.Request {
  const count = DURATION_S * 40_000;
  const timestamp = Math.floor(Date.now() / 1000);
  const sets = Array.from({ length: count }, () =>
    signedHeaders(channelId, secret, {
      timestamp,
      nonce: randomBytes(16).toString('base64url'),
      method,
      pathWithQuery: path,
      body,
    }),
  );
  let next = 0;
  const extra = body ? { 'content-type': 'application/json' } : {};
  return {
    method: method as autocannon.Request['method'],
    path,
    setupRequest: (req) => {
      const headers =
        sets[next++] ??
        signedHeaders(channelId, secret, {
          timestamp: Math.floor(Date.now() / 1000),
          nonce: randomBytes(16).toString('base64url'),
          method,
          pathWithQuery: path,
          body,
        });
      return { ...req, body, headers: { ...headers, ...extra } };
    },
  };
}

let cardSerial = 0;

/** How a bench request is signed: HMAC with the secret, or a private key (RSA, SM2) as a merchant would. */
type Signing = { type: 'HMAC-SHA256' } | { type: 'RSA-SHA256' | 'SM2-SM3'; sign: (m: Buffer) => string };

/** Intake requests, each a new card and merchant_order_id, signed before the run. */
/** A public address of its own per seller, in China Telecom's Beijing range (docs/risk-geo.md). */
const sellerIp = (seller: number) => `220.181.${(seller >> 8) & 255}.${seller & 255 || 1}`;

function intake(
  channelId: string,
  secret: string,
  signing: Signing = { type: 'HMAC-SHA256' },
  count = (DURATION_S + WARMUP_S) * 20_000,
  /**
   * Sellers with their own device and address, as the risk rules see them (one seller otherwise):
   * this many, taken in turn.
   */
  subjects = 0,
): autocannon.Request {
  const timestamp = Math.floor(Date.now() / 1000);
  const prepared = Array.from({ length: count }, () => {
    cardSerial++;
    const seller = cardSerial % Math.max(1, subjects);
    const body = JSON.stringify({
      merchant_order_id: `bench-${cardSerial}`,
      card_type: 'cmcc_national',
      card_number: String(cardSerial).padStart(17, '0'),
      card_secret: '123456789012345678',
      declared_face_value: 10_000,
      ...(subjects > 0
        ? {
            seller: { id: `bench-seller-${seller}` },
            device_id: `device-${seller}`,
            client_ip: sellerIp(seller),
          }
        : { seller: { id: 'bench-seller' } }),
    });
    const nonce = randomBytes(16).toString('base64url');
    const input = { timestamp, nonce, method: 'POST', pathWithQuery: '/v1/orders', body };
    const headers = signedHeaders(channelId, secret, input);
    if (signing.type !== 'HMAC-SHA256') {
      headers[SIGNING_HEADERS.signType] = signing.type;
      headers[SIGNING_HEADERS.signature] = signing.sign(stringToSign(input));
    }
    return { body, headers: { ...headers, 'content-type': 'application/json' } };
  });
  let next = 0;
  return {
    method: 'POST',
    path: '/v1/orders',
    setupRequest: (req) => {
      const p = prepared[next++ % prepared.length] as { body: string; headers: Record<string, string> };
      return { ...req, body: p.body, headers: p.headers };
    },
  };
}

/** A channel made with the CLI, then `recard serve --no-worker` in its own process. */
async function startRecard(env: Record<string, string>, signTypes?: string) {
  const { channelId, secret } = createBenchChannel(env, signTypes);
  // As `npm start` runs it: a larger young generation (fewer scavenges under load).
  const profile = process.env.RECARD_BENCH_PROFILE; // a folder: the server writes a CPU profile there
  const url = await startProcess(
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      '--max-semi-space-size=128',
      'bin/recard.js',
      'serve',
      '--no-worker',
      '--demo',
    ],
    env,
    /running at (\S+)/,
  );
  const child = children.at(-1);
  /** SIGTERM, then wait: the server must be gone before its schema is dropped. */
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { url, channelId, secret, stop };
}

/** The same intake on PostgreSQL (one API process, its pool of 10), in a throw-away schema. */
async function pgIntake(base: Record<string, string>) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const env = {
    ...base,
    DATABASE_URL: PG_URL,
    RECARD_DATABASE_SCHEMA: schema,
    RECARD_PG_POOL_SIZE: process.env.RECARD_BENCH_PG_POOL ?? '10',
  };
  try {
    const server = await startRecard(env);
    await load(
      'Signed `POST /v1/orders` (intake, new card each), PostgreSQL',
      server.url,
      intake(server.channelId, server.secret),
    );
    await server.stop();
  } catch (err) {
    rows.push(`| Intake on PostgreSQL | skipped: ${(err as Error).message.split('\n')[0]} | | | |`);
  } finally {
    const storage = await openStorage({ url: PG_URL, schema, poolSize: 1 }).catch(() => null);
    await storage?.db.schema.dropSchema(schema).ifExists().cascade().execute();
    await storage?.close();
  }
}

/**
 * The risk engine's cost at intake: the same intake (sellers with devices and addresses) with the
 * rules off and on, each on a fresh server, in one run (docs/risk.md#cost). Twice: 20,000 sellers
 * (each order of the run is a new seller on a new device and address: every risk row is a new one,
 * the worst case) and 2,000 sellers handing in a few orders each (the usual case: most rows exist;
 * under the velocity limits, so nothing is held).
 */
async function riskIntake() {
  const only = process.env.RECARD_BENCH_RISK_ONLY;
  for (const sellers of [20_000, 2_000]) {
    const rates: Record<string, number> = {};
    for (const risk of (only ? ['on'] : ['off', 'on']) as ('off' | 'on')[]) {
      const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-'));
      const server = await startRecard({
        RECARD_DATA_DIR: dataDir,
        RECARD_LOG_LEVEL: 'warn',
        RECARD_PORT: '0',
        RECARD_RISK: risk,
      });
      rates[risk] = await load(
        `Signed \`POST /v1/orders\`, ${sellers.toLocaleString('en')} sellers with devices and IPs, risk rules ${risk}, SQLite FULL`,
        server.url,
        intake(server.channelId, server.secret, { type: 'HMAC-SHA256' }, undefined, sellers),
      );
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    if (only) continue;
    const off = rates.off ?? 0;
    const on = rates.on ?? 0;
    rows.push(
      `| risk rules' cost at intake, ${sellers.toLocaleString('en')} sellers (1 − on/off) | ${((1 - on / off) * 100).toFixed(1)}% | | | |`,
    );
  }
}

async function intakeOnly() {
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-'));
  const server = await startRecard({ RECARD_DATA_DIR: dataDir, RECARD_LOG_LEVEL: 'warn', RECARD_PORT: '0' });
  await load(
    'Signed `POST /v1/orders` (intake, new card each), SQLite FULL',
    server.url,
    intake(server.channelId, server.secret),
  );
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

async function httpBenchmarks() {
  const hello = await startProcess(['--import', 'tsx', 'bench/hello-server.ts'], {}, /listening (\S+)/);
  const helloRate = await load('Fastify hello-world JSON echo (baseline)', hello, {
    method: 'POST',
    path: '/echo',
    headers: { 'content-type': 'application/json' },
    body: '{"hello":"world"}',
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-'));
  const env = { RECARD_DATA_DIR: dataDir, RECARD_LOG_LEVEL: 'warn', RECARD_PORT: '0' };
  const { url, channelId, secret } = await startRecard(env);
  const readRate = await load(
    'Signed `GET /v1/channel` (verify + nonce insert), SQLite FULL',
    url,
    signed(channelId, secret, 'GET', '/v1/channel'),
  );
  await load(
    'Signed `POST /v1/callback-tests` (record + job, one transaction), SQLite FULL',
    url,
    signed(channelId, secret, 'POST', '/v1/callback-tests', '{"url":"http://127.0.0.1:9/cb"}'),
  );
  const intakeRate = await load(
    'Signed `POST /v1/orders` (intake, new card each), SQLite FULL',
    url,
    intake(channelId, secret),
  );
  await load(
    'Signed `GET /v1/quotes` (price + quote row), SQLite FULL',
    url,
    signed(channelId, secret, 'GET', '/v1/quotes?card_type=cmcc_national&face_value=10000'),
  );
  await pgIntake(env);
  rows.push(`| ratio signed GET / baseline | ${(readRate / helloRate).toFixed(2)} | | | |`);
  rows.push(`| ratio intake / baseline | ${(intakeRate / helloRate).toFixed(2)} | | | |`);
  rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Intake signed three ways in one run: HMAC-SHA256, RSA-SHA256 (2048 bit) and SM2-SM3 with keys
 * registered through the admin API. SM2 signatures are made before the run (about 3 ms each).
 */
async function signedIntake() {
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-'));
  const env = { RECARD_DATA_DIR: dataDir, RECARD_LOG_LEVEL: 'warn', RECARD_PORT: '0' };
  const { url, channelId, secret, stop } = await startRecard(env, 'HMAC-SHA256,RSA-SHA256,SM2-SM3');
  const adminToken = (JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8')) as { admin_token: string })
    .admin_token;
  const register = async (pem: string) => {
    const res = await fetch(`${url}/admin/v1/channels/${channelId}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: pem }),
    });
    if (res.status !== 201) throw new Error(`key registration: ${res.status} ${await res.text()}`);
  };
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await register(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const d = sm2PrivateKey();
  const der = sm2SpkiDer(sm2PublicKeyOf(d));
  await register(`-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`);
  await load('Signed `POST /v1/orders`, HMAC-SHA256, SQLite FULL', url, intake(channelId, secret));
  await load(
    'Signed `POST /v1/orders`, RSA-SHA256 2048, SQLite FULL',
    url,
    intake(channelId, secret, {
      type: 'RSA-SHA256',
      sign: (m) => createSign('sha256').update(m).sign(rsa.privateKey).toString('base64'),
    }),
  );
  // Fewer connections: SM2 checks queue on the pool, and each request needs a signature made before
  // the run (about 3 ms each), so there are only so many.
  await load(
    'Signed `POST /v1/orders`, SM2-SM3 (worker pool), SQLite FULL, 32 connections',
    url,
    intake(
      channelId,
      secret,
      { type: 'SM2-SM3', sign: (m) => encodeSm2Signature(sm2Sign(d, m)).toString('base64') },
      (DURATION_S + WARMUP_S) * 600,
    ),
    32,
  );
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const NOOP = defineJobKind<{ n: number }>({
  kind: 'bench.noop',
  maxAttempts: 1,
  timeoutMs: 10_000,
  backoff: { baseMs: 10, capMs: 10 },
});

async function jobBenchmark(name: string, url: string, schema: string) {
  const storage = await openStorage({ url, schema, poolSize: 10 });
  await migrateToLatest(storage);
  const count = 5000;
  await storage.db.transaction().execute(async (trx) => {
    for (let n = 0; n < count; n++) await enqueueJob(trx, NOOP, { n }, Date.now());
  });
  const runtime = new JobRuntime({
    db: storage.db,
    dialect: storage.dialect,
    handlers: [{ spec: NOOP, handle: async () => undefined }],
    clock: systemClock,
    logger: createLogger('silent'),
    concurrency: 32,
    pollMs: 5,
    leaseMs: 30_000,
  });
  const started = performance.now();
  runtime.start();
  while ((await countJobsByState(storage.db)).succeeded < count) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop(0);
  rows.push(
    `| Job runtime drain, ${count} no-op jobs, 1 worker × 32, ${name} | ${Math.round(count / seconds)} jobs/s | | | |`,
  );
  process.stderr.write(`jobs on ${name}: ${Math.round(count / seconds)} jobs/s\n`);
  return storage;
}

try {
  if (process.env.RECARD_BENCH_ONLY === 'auth') {
    await signedIntake();
    process.stdout.write(`${rows.join('\n')}\n`);
    process.exit(0);
  }
  if (process.env.RECARD_BENCH_ONLY === 'risk') {
    await riskIntake();
    process.stdout.write(`${rows.join('\n')}\n`);
    process.exit(0);
  }
  if (process.env.RECARD_BENCH_ONLY === 'intake') {
    await intakeOnly();
    process.stdout.write(`${rows.join('\n')}\n`);
    process.exit(0);
  }
  await httpBenchmarks();
  await riskIntake();
  await signedIntake();
  const dir = mkdtempSync(join(tmpdir(), 'recard-bench-jobs-'));
  await (await jobBenchmark('SQLite FULL', `sqlite:${join(dir, 'jobs.db')}`, 'public')).close();
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  try {
    const pg = await jobBenchmark('PostgreSQL', PG_URL, schema);
    await pg.db.schema.dropSchema(schema).cascade().execute();
    await pg.close();
  } catch (err) {
    rows.push(`| Job runtime drain, PostgreSQL | skipped: ${(err as Error).message} | | | |`);
  }
  rmSync(dir, { recursive: true, force: true });
} finally {
  for (const c of children) c.kill('SIGTERM');
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(
  [
    `Machine: ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Load: autocannon in the bench process, ${CONNECTIONS} connections, ${DURATION_S} s per row; servers in their own processes.`,
    '',
    '| scenario | 2xx per s | p50 ms | p99 ms | non-2xx + errors |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
