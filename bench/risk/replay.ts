/**
 * `npm run risk:replay` (docs/risk-replay.md): a synthetic day of orders with planted fraud, replayed
 * over HTTP against a real Recard server (SQLite in a temporary folder, the issuer simulators serving
 * the day's cards, a worker), then scored per pattern.
 *
 * The server and its worker run in this process with an injected clock that the replayer moves to
 * each order's time, so a day passes in minutes; the client signs with the same clock. The issuer
 * simulators run on a thread of their own (sim-thread.ts). The worker skips the job kinds the score
 * does not read (SKIPPED_JOB_KINDS). Settings: RISK_REPLAY_ORDERS (50000), RISK_REPLAY_SEED,
 * RISK_REPLAY_CONCURRENCY (32), RISK_REPLAY_OUT (JSON file, default
 * bench/results/risk-replay-<orders>.json), RISK_REPLAY_NO_TARGETS=1 or `--no-targets` (exit 0 even if
 * a target is missed), RISK_REPLAY_SETTLE=1 (wait for every order's final status),
 * RISK_REPLAY_ALL_JOBS=1 (the worker runs every job kind, as in production).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RecardClient } from '../../src/client/client.js';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main/api.js';
import { type Context, createContext } from '../../src/main/context.js';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { Clock } from '../../src/shared/clock.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import type { SimulatorSet, StartSimulatorsOptions } from '../../src/simulators/index.js';
import type { Simulator } from '../../src/simulators/server.js';
import { type Observation, renderScore, score } from './score.js';
import {
  CHANNEL_KINDS,
  CHANNEL_LABELS,
  type ChannelLabel,
  type DayOrder,
  generateDay,
} from './synthetic-day.js';

const ORDERS = Number(process.env.RISK_REPLAY_ORDERS ?? 50_000);
const SEED = process.env.RISK_REPLAY_SEED ?? 'recard-risk-day';
const CONCURRENCY = Number(process.env.RISK_REPLAY_CONCURRENCY ?? 32);
const OUT = process.env.RISK_REPLAY_OUT ?? join('bench', 'results', `risk-replay-${ORDERS}.json`);
const NO_TARGETS = process.argv.includes('--no-targets') || process.env.RISK_REPLAY_NO_TARGETS === '1';
const SETTLE = process.env.RISK_REPLAY_SETTLE === '1';
const ALL_JOBS = process.env.RISK_REPLAY_ALL_JOBS === '1';
/** An order is submitted while the server's clock is at most this far past its time. */
const MAX_SKEW_MS = 60_000;
/**
 * How long an order may stay submitted/verifying before it is scored as "no outcome", and how long a
 * retry (`after`) waits for the outcome of the try before it; real time.
 */
const SETTLE_TIMEOUT_MS = 120_000;

/**
 * Job kinds the replay's worker does not run, unless RISK_REPLAY_ALL_JOBS=1: nothing the score reads
 * depends on them (the risk engine reads its own tables, the lockouts their own subscriber). The
 * ledger's postings (and the `redeemed` → `settled` move its subscriber makes), settlement items,
 * sweeps and payouts (T+1, nothing is ever approved), and webhook callbacks (the replay's channels
 * have no endpoints and its orders no callback_url). Their jobs are still written with the events
 * and wait, unclaimed. Running them cost about half of the process's CPU, and the settlement sweep's
 * cost grew with the day (every seller owed, each sweep, at every 30 s of the replay's clock).
 */
const SKIPPED_JOB_KINDS = [
  'events.ledger',
  'ledger.expire_pending',
  'events.settlement',
  'settlement.sweep',
  'settlement.payout',
  'events.callbacks',
  'webhooks.deliver',
] as const;

/**
 * Takes the skipped kinds out of the handlers and schedules a worker started from this context runs
 * (startWorker reads `ctx.jobHandlers` and `ctx.schedules`). Throws on a kind this build does not
 * have, so that a renamed kind is not silently run again.
 */
function skipJobKinds(
  ctx: Pick<Context, 'jobHandlers' | 'schedules'>,
  kinds: readonly string[] = SKIPPED_JOB_KINDS,
): void {
  const known = new Set(ctx.jobHandlers.map((h) => h.spec.kind));
  const unknown = kinds.filter((k) => !known.has(k));
  if (unknown.length > 0) throw new Error(`no job kind ${unknown.join(', ')} in this build`);
  const skip = new Set(kinds);
  ctx.jobHandlers = ctx.jobHandlers.filter((h) => !skip.has(h.spec.kind));
  ctx.schedules = ctx.schedules.filter((s) => !skip.has(s.spec.kind));
}

/**
 * startSimulators on a worker thread (sim-thread.ts), so that the simulators' HTTP servers, XML and
 * JSON take the machine's other core. The set it returns has what routeCardTypesTo reads: the seed
 * and each issuer's url.
 */
async function simulatorsOnThread(options: StartSimulatorsOptions): Promise<SimulatorSet> {
  // Node 20 does not pass `--import tsx` on to a worker thread: the thread loads tsx's API first.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const file = JSON.stringify(new URL('./sim-thread.ts', import.meta.url).href);
  const thread = new Worker(
    `import(${tsx}).then((tsx) => tsx.tsImport(${file}, ${JSON.stringify(import.meta.url)}))`,
    { eval: true, workerData: options },
  );
  const urls = await new Promise<[string, string][]>((resolve, reject) => {
    thread.once('message', (m: { urls: [string, string][] }) => resolve(m.urls));
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`simulator thread exited (${code}) before it listened`)));
  });
  return {
    seed: options.seed,
    cards: options.cards ?? [],
    byIssuer: new Map(urls.map(([issuer, url]) => [issuer, { issuer, url } as Simulator])),
    close: async () => {
      const exited = new Promise((resolve) => thread.once('exit', resolve));
      thread.postMessage('close');
      await exited;
    },
  };
}

/**
 * The server's clock during the replay: it runs at real speed and jumps forward to each order's time
 * when the replayer says so; it never goes back.
 */
export class ReplayClock implements Clock {
  private base: number;
  private realAt = Date.now();
  constructor(start: number) {
    this.base = start;
  }
  now(): number {
    return this.base + (Date.now() - this.realAt);
  }
  advanceTo(t: number): void {
    if (t > this.now()) {
      this.base = t;
      this.realAt = Date.now();
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UNSETTLED = new Set(['submitted', 'verifying']);

interface OrderBody {
  id?: string;
  status?: string;
  risk?: unknown;
  risk_rules?: unknown;
  error?: { code?: string };
}

/** Rule codes from an order as the server shows it (`risk.rules`, `risk.fired`, `risk_rules`; strings or `{rule|code|id}`). */
export function rulesOf(body: OrderBody): string[] {
  const risk = (body.risk ?? {}) as Record<string, unknown>;
  const list = risk.rules ?? risk.fired ?? body.risk_rules ?? [];
  if (!Array.isArray(list)) return [];
  return list
    .map((x) => (typeof x === 'string' ? x : ((x?.rule ?? x?.code ?? x?.id ?? '') as string)))
    .filter((x): x is string => typeof x === 'string' && x.length > 0);
}

const HELD = new Set(['review', 'frozen', 'rejected']);

async function main() {
  const t0 = Date.now();
  const day = generateDay({ seed: SEED, orders: ORDERS });
  const s = day.summary;
  process.stderr.write(
    `day ${SEED}: ${s.dayOrders} orders (${s.honestOrders} honest from ${s.honestSellers} sellers, ${s.historyOrders} history), planted: ${Object.entries(
      s.planted,
    )
      .map(([p, v]) => `${p} ${v.instances}×/${v.orders} orders/${v.signatureOrders} signature`)
      .join(', ')} (generated in ${Date.now() - t0} ms)\n`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'recard-risk-replay-'));
  const clock = new ReplayClock((day.orders[0] as DayOrder).at - 60_000);
  const simCards: SimCard[] = day.cards.map((c) => ({
    cardType: c.cardType,
    number: c.number,
    secret: c.secret,
    faceValue: c.faceValue,
    balance: c.state === 'used' ? 0 : c.faceValue,
    state: c.state,
    expiresOn: c.state === 'expired' ? '2025-12-31' : '2029-12-31',
    label: c.state,
    declaredFaceValue: c.faceValue,
  }));
  const sims = await simulatorsOnThread({ seed: SEED, cards: simCards, publishEveryMs: 300 });
  const config = loadConfig(
    {},
    {
      port: 0,
      databaseUrl: `sqlite:${join(dir, 'recard.db')}`,
      dataDir: dir,
      adminToken: `adm_${randomBytes(24).toString('hex')}`,
      logLevel: (process.env.RECARD_LOG_LEVEL as 'warn' | undefined) ?? 'warn',
      // One process holds the server, its worker and the client: more jobs at once only make the
      // simulators' answers late. The worker polls at the default 250 ms: work enqueued here wakes it
      // at once, and every intake wakes the verify jobs (a deferred one is due after the next jump);
      // a 20 ms poll was a claim of every kind 50 times a second, up to a quarter of the CPU.
      workerConcurrency: 16,
      // The clock jumps ahead while jobs run: a lease must outlast the jumps (at most 1 h).
      jobLeaseMs: 3_600_000,
      channelRate: 1_000_000,
      channelBurst: 10_000_000,
      ipRate: 1_000_000,
      ipBurst: 10_000_000,
    },
  );
  const ctx = await createContext(config, { clock });
  if (!ALL_JOBS) skipJobKinds(ctx);
  const server = await startServer(ctx, { worker: true });
  try {
    // A generous issuer timeout: a late answer here is this process being busy, not an issuer fault.
    await routeCardTypesTo(ctx, sims, { pollMs: 200, timeoutMs: 15_000 });
    for (const [code, extra] of Object.entries(day.extraFaceValues)) {
      const current = (await ctx.cardTypes.list({ enabledOnly: false })).find((t) => t.code === code);
      const faces = [...new Set([...(current?.face_values ?? []), ...extra])].sort((a, b) => a - b);
      const patched = await ctx.cardTypes.update(code, { face_values: faces });
      if (!patched.ok) throw new Error(`card type ${code}: ${patched.message}`);
      // Priced too: the default sheet's top range is stretched to the highest new value.
      const [sheet] = await ctx.pricingAdmin.listSheets({
        card_type: code,
        tier: 'default',
        kind: 'rate',
        history: false,
      });
      const top = Math.max(...faces);
      const ranges = (sheet?.ranges ?? []).map(({ face_min, face_max, bps }) => ({
        face_min,
        face_max,
        bps,
      }));
      const last = ranges.at(-1);
      if (last && last.face_max < top) {
        last.face_max = top;
        const priced = await ctx.pricingAdmin.addSheet({
          tier: 'default',
          card_type: code,
          kind: 'rate',
          ranges,
        });
        if (!priced.ok) throw new Error(`rate sheet of ${code}: ${priced.message}`);
      }
    }
    const clients = {} as Record<ChannelLabel, RecardClient>;
    for (const label of CHANNEL_LABELS) {
      const kind = CHANNEL_KINDS[label];
      const made = await ctx.channels.create({
        name: `Risk replay ${label}`,
        kind,
        auth: { schemes: ['HMAC-SHA256'], require_token: false },
        settlement: { cycle: 'T1' },
        limits: {
          per_order_min: null,
          per_order_max: null,
          required_fields: kind === 'crypto' ? ['blockchain_address'] : [],
        },
        settlement_currency: null,
      });
      if (!made.ok) throw new Error(`channel ${label}: ${made.message}`);
      clients[label] = new RecardClient({
        baseUrl: server.url,
        channelId: made.value.channel.id,
        secret: made.value.secret,
        nowSeconds: () => Math.floor(clock.now() / 1000),
      });
    }
    // The catalogue is cached for a second by intake.
    await sleep(1100);

    const observations = new Map<number, Observation>();
    /** The first unexpected refusals, printed at the end: a harness fault shows here. */
    const refusals: string[] = [];
    /** Retries sent although the try before them had no outcome yet (a harness fault: should be 0). */
    const earlyRetries: string[] = [];
    const byIndex = day.orders;
    /**
     * Takes an order's status as the server shows it. The rules of a held order come from the
     * engine's record (what reviewers see) unless the order shows them; a read never wipes them.
     */
    const take = async (obs: Observation, body: OrderBody) => {
      obs.status = body.status ?? obs.status;
      const shown = rulesOf(body);
      if (shown.length > 0) obs.rules = shown;
      else if (obs.orderId && obs.status && HELD.has(obs.status) && obs.rules.length === 0)
        obs.rules = (await ctx.risk.assessments(obs.orderId)).flatMap((a) =>
          a.fired.filter((f) => !f.shadow).map((f) => f.rule),
        );
    };
    const outcomeKnown = (obs: Observation | undefined) =>
      obs !== undefined &&
      (obs.code !== null || obs.httpStatus === 0 || (obs.status !== null && !UNSETTLED.has(obs.status)));
    /**
     * Waits until an order's outcome is known (refused, or out of submitted/verifying), reading it
     * (`GET /v1/orders/{id}`) every 20 ms; false if it is not known within `timeoutMs`.
     */
    const settle = async (index: number, timeoutMs: number): Promise<boolean> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const obs = observations.get(index);
        if (outcomeKnown(obs)) return true;
        if (obs?.orderId) {
          const res = await clients[(byIndex[index] as DayOrder).channel]
            .get<OrderBody>(`/v1/orders/${obs.orderId}`)
            .catch(() => null);
          if (res?.status === 200) await take(obs, res.body);
          if (outcomeKnown(obs)) return true;
        }
        if (Date.now() > deadline) return false;
        await sleep(20);
      }
    };
    /** Every order of a channel, newest first, `GET /v1/orders` a hundred at a time (of one status if given). */
    async function* listOrders(label: ChannelLabel, status?: string): AsyncGenerator<OrderBody> {
      let cursor: string | null = null;
      do {
        const query: string = `limit=100${status ? `&status=${status}` : ''}${cursor ? `&cursor=${cursor}` : ''}`;
        const res: { status: number; body: { data: OrderBody[]; next_cursor: string | null } } =
          await clients[label].get(`/v1/orders?${query}`);
        if (res.status !== 200) throw new Error(`GET /v1/orders?${query}: ${res.status}`);
        yield* res.body.data;
        cursor = res.body.next_cursor;
      } while (cursor);
    }
    /**
     * Waits until no order of any channel is in submitted/verifying (listed by status, not read one by
     * one), for at most `timeoutMs`; returns how many still are.
     */
    const untilNonePending = async (timeoutMs: number): Promise<number> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let pending = 0;
        for (const label of CHANNEL_LABELS)
          for (const status of UNSETTLED) for await (const _ of listOrders(label, status)) pending++;
        if (pending === 0 || Date.now() > deadline) return pending;
        await sleep(250);
      }
    };
    const submit = async (o: DayOrder) => {
      // A retry of a card goes once the try before it has its outcome (the issuer said "invalid", or
      // it was held): sent while that one is still verifying, it would be a duplicate of it.
      if (o.after !== null && !(await settle(o.after, SETTLE_TIMEOUT_MS)))
        earlyRetries.push(`${o.label.instance ?? o.label.pattern} ${o.label.note ?? ''} #${o.index}`.trim());
      const body = {
        merchant_order_id: o.merchantOrderId,
        card_type: o.cardType,
        card_number: o.cardNumber,
        card_secret: o.submittedSecret,
        declared_face_value: o.declaredFaceValue,
        seller: { id: o.sellerId },
        client_ip: o.clientIp,
        device_id: o.deviceId,
        user_id: o.userId,
        user_registered_at: new Date(o.userRegisteredAt).toISOString(),
        ...(o.blockchainAddress ? { blockchain_address: o.blockchainAddress } : {}),
      };
      const obs: Observation = {
        index: o.index,
        httpStatus: 0,
        code: null,
        orderId: null,
        status: null,
        rules: [],
      };
      try {
        const res = await clients[o.channel].post<OrderBody>('/v1/orders', body);
        obs.httpStatus = res.status;
        if (res.status === 200 || res.status === 201) {
          obs.orderId = res.body.id ?? null;
          await take(obs, res.body);
        } else {
          obs.code = res.body?.error?.code ?? `http_${res.status}`;
          if (obs.code !== 'card_locked' && obs.code !== 'too_many_wrong_secrets' && refusals.length < 10)
            refusals.push(
              `${o.label.pattern} ${o.cardType} ${o.declaredFaceValue}: ${obs.code} ${JSON.stringify(res.body?.error ?? res.body).slice(0, 200)}`,
            );
        }
      } catch (err) {
        obs.code = `network: ${(err as Error).message}`;
      }
      observations.set(o.index, obs);
    };

    // Dispatch in time order: at most CONCURRENCY in flight, none more than MAX_SKEW_MS behind the clock.
    const inflight = new Map<number, { at: number; done: Promise<void> }>();
    let sent = 0;
    const started = Date.now();
    let lastReport = started;
    let lastSent = 0;
    let phase: DayOrder['phase'] = 'history';
    const drain = async () => {
      while (inflight.size > 0) await Promise.race([...inflight.values()].map((x) => x.done));
    };
    for (const o of day.orders) {
      if (o.phase !== phase) {
        // Before the day starts, the history's orders are finished: no job runs across the jump.
        await drain();
        await untilNonePending(30_000);
        phase = o.phase;
      }
      for (;;) {
        const oldest = Math.min(...[...inflight.values()].map((x) => x.at));
        // The history only has to exist before the day: its orders go as fast as they can.
        const skewOk = o.phase === 'history' || !(oldest < o.at - MAX_SKEW_MS);
        if (inflight.size < CONCURRENCY && skewOk) break;
        await Promise.race([...inflight.values()].map((x) => x.done));
      }
      clock.advanceTo(o.at);
      const done = submit(o).finally(() => inflight.delete(o.index));
      inflight.set(o.index, { at: o.at, done });
      sent++;
      if (Date.now() - lastReport > 5000) {
        const now = Date.now();
        const rate = sent / ((now - started) / 1000);
        const recent = (sent - lastSent) / ((now - lastReport) / 1000);
        lastReport = now;
        lastSent = sent;
        process.stderr.write(
          `  ${sent}/${day.orders.length} submitted, ${rate.toFixed(0)}/s (last 5 s ${recent.toFixed(0)}/s), server time ${new Date(clock.now()).toISOString()}\n`,
        );
      }
    }
    await drain();
    const submitSeconds = (Date.now() - started) / 1000;
    process.stderr.write(`submitted ${sent} in ${submitSeconds.toFixed(1)} s; waiting for outcomes\n`);

    // Outcomes: every planted pattern is decided at intake, so the intake answer is the outcome; the
    // issuer's answers are waited for only with RISK_REPLAY_SETTLE=1: until no order is pending, then
    // every order's status is read from the channels' order lists (a hundred a page).
    if (SETTLE) {
      const pending = await untilNonePending(SETTLE_TIMEOUT_MS);
      if (pending > 0)
        process.stderr.write(`${pending} orders still pending after ${SETTLE_TIMEOUT_MS} ms\n`);
      const byOrderId = new Map(
        [...observations.values()].flatMap((x) => (x.orderId ? [[x.orderId, x] as const] : [])),
      );
      for (const label of CHANNEL_LABELS)
        for await (const order of listOrders(label)) {
          const obs = order.id ? byOrderId.get(order.id) : undefined;
          if (obs) await take(obs, order);
        }
    }
    const totalSeconds = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage();
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;

    const result = score(day.orders, [...observations.values()]);
    process.stdout.write(`${renderScore(result)}\n`);
    const statuses: Record<string, number> = {};
    for (const o of observations.values()) {
      const k = o.code ?? o.status ?? 'none';
      statuses[k] = (statuses[k] ?? 0) + 1;
    }
    process.stdout.write(
      `\nOutcomes: ${Object.entries(statuses)
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ', ',
        )}. Submitted in ${submitSeconds.toFixed(1)} s (${(sent / submitSeconds).toFixed(0)}/s), ${totalSeconds.toFixed(1)} s in all, ${cpuSeconds.toFixed(0)} s of CPU (every thread).\n`,
    );
    if (refusals.length > 0)
      process.stdout.write(`First refusals other than lockouts:\n  ${refusals.join('\n  ')}\n`);
    if (earlyRetries.length > 0)
      process.stdout.write(
        `Retries sent before the try before them had an outcome (harness fault): ${earlyRetries.length}: ${earlyRetries.slice(0, 10).join(', ')}\n`,
      );
    process.stdout.write(
      `Worker: ${ALL_JOBS ? 'every job kind' : `every job kind but ${SKIPPED_JOB_KINDS.join(', ')}`}.\n`,
    );
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(
      OUT,
      `${JSON.stringify(
        {
          seed: SEED,
          orders: ORDERS,
          day: day.summary,
          rings: day.rings,
          runtime_s: { submit: submitSeconds, total: totalSeconds, cpu: cpuSeconds },
          skipped_job_kinds: ALL_JOBS ? [] : SKIPPED_JOB_KINDS,
          early_retries: earlyRetries.length,
          statuses,
          score: result,
        },
        null,
        2,
      )}\n`,
    );
    process.stderr.write(`wrote ${OUT}\n`);
    process.exitCode = (result.ok && earlyRetries.length === 0) || NO_TARGETS ? 0 : 1;
  } finally {
    await server.stop();
    await ctx.close();
    await sims.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
