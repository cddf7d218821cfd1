/**
 * Batch intake (docs/batches.md, docs/benchmarks.md#batches): a file of RECARD_BENCH_BATCH_LINES
 * (100,000) cards uploaded to `recard serve --demo` with its worker, on SQLite and then PostgreSQL.
 * Measures: the upload's answer (staged), every line written as an order with its job (no line
 * pending), the server's peak RSS meanwhile, and the report of every line. Run after `npm run build`.
 * RECARD_BENCH_TRACE=1 prints the counts as they move; RECARD_BENCH_OLD_SPACE / RECARD_BENCH_SEMI_SPACE
 * (MB) pass V8 heap limits to the server (none by default: Node's own).
 * RECARD_BENCH_SKIP_SQLITE=1 / RECARD_BENCH_SKIP_PG=1 run one store only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecardClient } from '../src/client/client.js';
import type { BatchView } from '../src/modules/batches/index.js';
import { dropBenchSchema, unknownCardFile } from './batch-files.js';
import { children, createBenchChannel, startProcess } from './processes.js';

const print = (line: string) => process.stdout.write(`${line}\n`);
const LINES = Number(process.env.RECARD_BENCH_BATCH_LINES ?? 100_000);
const PG_URL = process.env.RECARD_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The peak resident set of a process so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function run(name: string, env: Record<string, string>) {
  const { channelId, secret } = createBenchChannel(env);
  const url = await startProcess(
    [
      ...(process.env.RECARD_BENCH_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RECARD_BENCH_PROFILE}`]
        : []),
      ...(process.env.RECARD_BENCH_OLD_SPACE
        ? [`--max-old-space-size=${process.env.RECARD_BENCH_OLD_SPACE}`]
        : []),
      ...(process.env.RECARD_BENCH_SEMI_SPACE
        ? [`--max-semi-space-size=${process.env.RECARD_BENCH_SEMI_SPACE}`]
        : []),
      'bin/recard.js',
      'serve',
      '--demo',
    ],
    {
      ...env,
      RECARD_LOG_LEVEL: 'warn',
      RECARD_PORT: '0',
      RECARD_FILE_DROP_PORT: '0',
      // The bench's cards are not in the simulated issuers' base: every one is a "wrong secret", which
      // would block the seller after ten (docs/security.md). The bench measures intake, not that rule.
      RECARD_LOCKOUT_SELLER_WRONG_SECRETS: '100000',
      RECARD_LOCKOUT_IP_WRONG_SECRETS: '100000',
      RECARD_LOCKOUT_DEVICE_WRONG_SECRETS: '100000',
    },
    /running at (\S+)/,
  );
  const child = children.at(-1);
  const pid = child?.pid ?? 0;
  const client = new RecardClient({ baseUrl: url, channelId, secret });
  const file = unknownCardFile(LINES);
  const t0 = performance.now();
  const res = await client.uploadBatch<BatchView>(
    {
      merchant_batch_id: `bench-${Date.now()}`,
      format: 'text',
      card_type: 'cmcc_national',
      declared_face_value: 10000,
    },
    file,
    'bench.txt',
  );
  if (res.status !== 202) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const staged = performance.now() - t0;
  let rss = peakRssMb(pid);
  let view = res.body;
  while (view.counts.pending > 0) {
    await new Promise((r) => setTimeout(r, 200));
    view = (await client.get<BatchView>(`/v1/batches/${view.id}`)).body;
    rss = Math.max(rss, peakRssMb(pid));
    // RECARD_BENCH_TRACE=1: how intake and verification progress meanwhile.
    if (process.env.RECARD_BENCH_TRACE)
      print(
        `  ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(view.counts)} rss ${Math.round(peakRssMb(pid))} MB`,
      );
  }
  const ordered = performance.now() - t0;
  const r0 = performance.now();
  const report = await client.download(`/v1/batches/${view.id}/report`);
  const reportMs = performance.now() - r0;
  rss = Math.max(rss, peakRssMb(pid));
  if (view.counts.refused > 0) {
    const reasons = new Map<string, number>();
    for (const row of report.body.toString('utf8').split('\r\n').slice(1)) {
      const cells = row.split(',');
      if (cells[5] === 'refused') reasons.set(cells[6] ?? '', (reasons.get(cells[6] ?? '') ?? 0) + 1);
    }
    print(`refused lines by reason: ${JSON.stringify(Object.fromEntries(reasons))}`);
  }
  const exited = new Promise((r) => child?.once('exit', r));
  child?.kill('SIGTERM');
  await exited;
  print(
    `| ${name} | ${LINES.toLocaleString('en')} | ${(staged / 1000).toFixed(1)} s | ${(ordered / 1000).toFixed(1)} s | ${view.counts.accepted.toLocaleString('en')} accepted, ${view.counts.refused} refused | ${Math.round(rss)} MB | ${(reportMs / 1000).toFixed(1)} s (${(report.body.length / 1e6).toFixed(1)} MB) |`,
  );
}

print(
  '| store | lines | upload answered (staged) | every line an order with its job | lines | server peak RSS | report (CSV) |',
);
print('|---|---|---|---|---|---|---|');
if (!process.env.RECARD_BENCH_SKIP_SQLITE) {
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-batch-'));
  try {
    await run('SQLite FULL', { RECARD_DATA_DIR: dataDir });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
if (!process.env.RECARD_BENCH_SKIP_PG) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const pgDir = mkdtempSync(join(tmpdir(), 'recard-bench-batch-'));
  try {
    await run('PostgreSQL', { RECARD_DATA_DIR: pgDir, DATABASE_URL: PG_URL, RECARD_DATABASE_SCHEMA: schema });
  } finally {
    rmSync(pgDir, { recursive: true, force: true });
    await dropBenchSchema(PG_URL, schema);
  }
}
for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
