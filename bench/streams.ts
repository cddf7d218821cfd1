/**
 * 1,000 live-stream clients (issue 11): the server's memory per connected client, and how long an
 * event takes from being written to reaching all of them (fan-out). The server runs in this process
 * (SQLite, no worker: events are appended directly), the clients in their own.
 * RECARD_BENCH_STREAM_CLIENTS (default 1000), RECARD_BENCH_STREAM_EVENTS (default 20, 10 a second).
 * Run with --expose-gc for steadier memory figures (npm run bench does).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { startServer } from '../src/main/api.js';
import { createContext } from '../src/main/context.js';
import { ORDER_EVENT_TYPES } from '../src/modules/orders/index.js';
import { createLogger } from '../src/shared/logger.js';

const CLIENTS = Number(process.env.RECARD_BENCH_STREAM_CLIENTS ?? 1000);
const EVENTS = Number(process.env.RECARD_BENCH_STREAM_EVENTS ?? 20);
const spec = ORDER_EVENT_TYPES.find((t) => t.type === 'order.redeemed');
if (!spec) throw new Error('no order.redeemed');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 200));
  }
};

const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-streams-'));
const config = loadConfig(
  {},
  { dataDir, logLevel: 'warn', port: 0, adminToken: 'adm_bench_0000000000000000000000000000000000000000' },
);
const ctx = await createContext(config, { logger: createLogger('warn') });
const server = await startServer(ctx, { worker: false });
try {
  const made = await ctx.channels.create({
    name: 'console',
    kind: 'merchant',
    auth: { schemes: ['HMAC-SHA256'] },
  });
  if (!made.ok) throw new Error(made.message);
  await settle();
  const before = process.memoryUsage();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/stream-clients.ts'], {
    env: {
      ...process.env,
      STREAM_URL: server.url,
      STREAM_CLIENTS: String(CLIENTS),
      STREAM_EXPECT: String(EVENTS),
      STREAM_CHANNEL: made.value.channel.id,
      STREAM_SECRET: made.value.secret,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const line = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d;
        const m = re.exec(out);
        if (m) {
          child.stdout.off('data', onData);
          resolve(m[0]);
        }
      };
      child.stdout.on('data', onData);
      child.on('exit', (code) => reject(new Error(`clients exited with ${code}: ${out}`)));
    });
  await line(/connected \d+/);
  await settle();
  const after = process.memoryUsage();
  const example = spec.example as { order: Record<string, unknown> };
  const figures = line(/\{"n".*\}/);
  for (let i = 0; i < EVENTS; i++) {
    await ctx.committer.run((trx) =>
      ctx.events.append(trx, {
        spec,
        channelId: made.value.channel.id,
        subjectId: `ord_${String(i).padStart(26, '0')}`,
        data: { ...example, order: { ...example.order, id: `ord_${String(i).padStart(26, '0')}` } } as never,
        nowMs: Date.now(),
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  const fanout = JSON.parse(await figures) as {
    n: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
  };
  const perClient = (k: 'rss' | 'heapUsed') => ((after[k] - before[k]) / CLIENTS / 1024).toFixed(1);
  process.stdout.write(
    [
      `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; SQLite; clients in their own process.`,
      '',
      '| stream clients | server RSS KiB/client | server heap KiB/client | events × clients | fan-out p50 ms | p95 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|---|---|',
      `| ${CLIENTS} | ${perClient('rss')} | ${perClient('heapUsed')} | ${fanout.n} | ${fanout.p50} | ${fanout.p95} | ${fanout.p99} | ${fanout.max} |`,
      '',
    ].join('\n'),
  );
  child.kill();
} finally {
  await server.stop();
  await ctx.close();
  rmSync(dataDir, { recursive: true, force: true });
}
