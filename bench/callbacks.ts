/**
 * Callback benchmarks (issue 11), in one process as `recard serve` runs on SQLite, with the receiver
 * in its own process:
 * 1. throughput: N order.redeemed events appended at once; time until every delivery succeeded
 *    (event → subscriber → delivery job → signed POST → success recorded);
 * 2. latency: events appended at RATE/s, one per transaction as the verify worker writes them;
 *    event written → callback received, p50/p95/p99;
 * 3. isolation: the same, with a second channel whose endpoint never answers (every attempt times
 *    out after 5 s): the healthy channel's p99 beside its p99 without that channel.
 * RECARD_BENCH_CALLBACKS (default 10,000), RECARD_BENCH_CALLBACK_RATE (200), RECARD_BENCH_CALLBACK_S (30).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { type Context, createContext } from '../src/main/context.js';
import { startWorker } from '../src/main/worker.js';
import { ORDER_EVENT_TYPES } from '../src/modules/orders/index.js';
import { createLogger } from '../src/shared/logger.js';
import { children, startProcess } from './processes.js';

const COUNT = Number(process.env.RECARD_BENCH_CALLBACKS ?? 10_000);
const RATE = Number(process.env.RECARD_BENCH_CALLBACK_RATE ?? 200);
const SECONDS = Number(process.env.RECARD_BENCH_CALLBACK_S ?? 30);
const redeemed = ORDER_EVENT_TYPES.find((t) => t.type === 'order.redeemed');
if (!redeemed) throw new Error('no order.redeemed');
const spec = redeemed;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withServer<T>(run: (ctx: Context) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-bench-cb-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      logLevel: 'warn',
      outboundAllowlist: '127.0.0.1',
      workerPollMs: 20,
      adminToken: 'adm_bench_0000000000000000000000000000000000000000',
    },
  );
  const ctx = await createContext(config, { logger: createLogger('warn') });
  const runtime = startWorker(ctx);
  try {
    return await run(ctx);
  } finally {
    await runtime.stop(0);
    await ctx.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function channelWithEndpoint(ctx: Context, name: string, url: string): Promise<string> {
  const made = await ctx.channels.create({ name, kind: 'merchant', auth: { schemes: ['HMAC-SHA256'] } });
  if (!made.ok) throw new Error(made.message);
  const ep = await ctx.webhooks.endpoints.create(made.value.channel.id, {
    url,
    event_types: ['order.redeemed'],
  });
  if (!ep.ok) throw new Error(ep.message);
  return made.value.channel.id;
}

let subject = 0;
function appendRedeemed(ctx: Context, channelId: string, count: number) {
  return ctx.committer.run(async (trx) => {
    for (let i = 0; i < count; i++) {
      const example = spec.example as { order: Record<string, unknown>; previous_status: string };
      const order = { ...example.order, id: `ord_${String(++subject).padStart(26, '0')}` };
      await ctx.events.append(trx, {
        spec,
        channelId,
        subjectId: order.id,
        data: { ...example, order } as never,
        nowMs: Date.now(),
      });
    }
  });
}

async function succeeded(ctx: Context): Promise<number> {
  const r = await ctx.storage.db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'succeeded')
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

type Stats = Record<string, { n: number; p50: number; p95: number; p99: number; max: number }>;

const receiverPort = 4800 + Math.floor(Math.random() * 500);
try {
  await startProcess(
    ['--import', 'tsx', 'bench/receiver.ts'],
    { RECEIVER_PORT: String(receiverPort) },
    /receiver listening on (\d+)/,
  );
  const rx = `http://127.0.0.1:${receiverPort}`;
  const stats = async () => (await (await fetch(`${rx}/stats`)).json()) as Stats;
  const reset = () => fetch(`${rx}/reset`, { method: 'POST' });

  // 1. Throughput.
  const throughput = await withServer(async (ctx) => {
    const ch = await channelWithEndpoint(ctx, 'bulk', `${rx}/ok/bulk`);
    await appendRedeemed(ctx, ch, 500); // warm-up
    while ((await succeeded(ctx)) < 500) await sleep(50);
    const cpu0 = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < COUNT; i += 500) await appendRedeemed(ctx, ch, Math.min(500, COUNT - i));
    ctx.wakeWorker();
    while ((await succeeded(ctx)) < COUNT + 500) await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      perS: Math.round(COUNT / seconds),
      seconds,
      cpuUsPer: Math.round((cpu.user + cpu.system) / COUNT),
    };
  });
  process.stderr.write(`throughput: ${JSON.stringify(throughput)}\n`);

  // 2 and 3. Latency at RATE, alone and beside a channel whose endpoint never answers.
  /** RATE events/s spread over the slots; a null slot is skipped, so each channel's own rate is the same. */
  const paced = async (ctx: Context, channels: (string | null)[]) => {
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < SECONDS * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * RATE);
      const batch: Promise<unknown>[] = [];
      while (sent < due) {
        const to = channels[sent % channels.length];
        if (to) batch.push(appendRedeemed(ctx, to, 1));
        sent++;
      }
      await Promise.all(batch);
      await sleep(5);
    }
    return sent;
  };
  const latency = async (neighbour: 'none' | 'ok' | 'hang') =>
    withServer(async (ctx) => {
      const healthy = await channelWithEndpoint(ctx, 'healthy', `${rx}/ok/healthy`);
      const hanging =
        neighbour === 'none' ? null : await channelWithEndpoint(ctx, 'other', `${rx}/${neighbour}/other`);
      await paced(ctx, [healthy, hanging]);
      await reset();
      const rss0 = process.memoryUsage().rss;
      const sent = await paced(ctx, [healthy, hanging]);
      await sleep(2000);
      const s = (await stats()).healthy;
      return { sent, ...s, rssMiB: Math.round((process.memoryUsage().rss - rss0) / 2 ** 20) };
    });
  const alone = await latency('none');
  process.stderr.write(`alone: ${JSON.stringify(alone)}\n`);
  const besideOk = await latency('ok');
  process.stderr.write(`beside a healthy channel: ${JSON.stringify(besideOk)}\n`);
  const beside = await latency('hang');
  process.stderr.write(`beside a timing-out channel: ${JSON.stringify(beside)}\n`);

  process.stdout.write(
    [
      `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; SQLite FULL, API and worker in one process, receiver in its own.`,
      '',
      `| deliveries | seconds | deliveries/s | CPU µs/delivery (server) |`,
      '|---|---|---|---|',
      `| ${COUNT} | ${throughput.seconds.toFixed(1)} | ${throughput.perS} | ${throughput.cpuUsPer} |`,
      '',
      `| healthy channel at ${RATE / 2} events/s for ${SECONDS} s | callbacks received | p50 ms | p95 ms | p99 ms | max ms |`,
      '|---|---|---|---|---|---|',
      `| alone | ${alone.n} | ${alone.p50} | ${alone.p95} | ${alone.p99} | ${alone.max} |`,
      `| beside a channel at ${RATE / 2} events/s whose endpoint answers | ${besideOk.n} | ${besideOk.p50} | ${besideOk.p95} | ${besideOk.p99} | ${besideOk.max} |`,
      `| beside a channel at ${RATE / 2} events/s whose endpoint never answers | ${beside.n} | ${beside.p50} | ${beside.p95} | ${beside.p99} | ${beside.max} |`,
      '',
    ].join('\n'),
  );
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(300);
}
