import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { RecardClient } from '../../src/client/client.js';
import { routeCardTypesTo, usePayoutSimulators } from '../../src/main/demo.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import type { OrderStatus, OrderView } from '../../src/modules/orders/index.js';
import { startSimulators } from '../../src/simulators/index.js';
import { startPayoutSimulators } from '../../src/simulators/payouts.js';
import { countOrders } from '../harness/orders.js';
import { freePort, startRecard } from '../harness/processes.js';
import { startTestServer, workerEnv } from '../harness/server.js';
import { simOrderBody } from '../harness/sim-orders.js';
import type { StorageTarget } from '../harness/storage.js';
import { sleep } from '../harness/wait.js';
import { writePayoutProvidersFile } from './payout-drill.js';

export interface ProcessDrillOptions {
  apis: number;
  workers: number;
  /** Orders a second, for `seconds`. */
  rate: number;
  seconds: number;
  /** Every this many ms one API process and one worker are killed with SIGKILL and started again. */
  killEveryMs: number;
  redisUrl: string;
  /** Restart PostgreSQL once, in the middle of the load (a server of the drill's own). */
  restartDatabase?: (downMs: number) => Promise<void>;
  /** How long the orders may take to reach their ends after the load. */
  drainTimeoutMs: number;
  log?: (line: string) => void;
}

export interface ProcessDrillFigures {
  database: string;
  apis: number;
  workers: number;
  rate: number;
  seconds: number;
  acknowledged: number;
  /** Submissions that got no answer (a process killed under them, the database away) and were sent again. */
  resubmitted: number;
  kills: number;
  databaseRestarts: number;
  /** Acknowledged orders missing from the database afterwards (must be 0). */
  lost: number;
  /** Orders in the database no channel was told of (must be 0: each was answered, maybe on a retry). */
  unacknowledged: number;
  /** Cards redeemed more than once at their issuer, or asked to be after they were consumed (must be 0). */
  redeemedTwice: number;
  /** Pay requests for a payout id the provider had already paid (must be 0). */
  paidTwice: number;
  ledgerViolations: number;
  /** Every order's status at the end; all of them final or a defined resting state. */
  statuses: Record<string, number>;
  /** Time from the end of the load until every order reached its end. */
  drainSeconds: number;
  seconds_total: number;
}

/** Where an order rests: paid or refused (a settled order is paid by T+0 settlement shortly after). */
const ENDS: OrderStatus[] = ['paid', 'invalid', 'failed', 'review', 'rejected', 'frozen'];
const SELLERS = 50;

/**
 * The scale-out drill (docs/reliability.md#processes-killed): N API processes (`recard serve
 * --no-worker`) and M workers (`recard worker`) on one PostgreSQL and one Redis take orders at a
 * steady rate, sent round the API processes by a careful channel that sends again, to the next
 * process, whatever got no answer. Every `killEveryMs` one API process and one worker are killed
 * with SIGKILL and started again; the database may be restarted once in the middle. Afterwards
 * nothing acknowledged may be lost, no card redeemed twice, no payout sent twice, the ledger clean,
 * and every order at its end.
 */
export async function runProcessDrill(
  target: StorageTarget,
  o: ProcessDrillOptions,
): Promise<ProcessDrillFigures> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const total = o.rate * o.seconds;
  const perType = Math.ceil(total / 3) + 10;
  const sims = await startSimulators({ seed: `process-drill-${total}`, perLabel: { valid: perType } });
  const t = await startTestServer(target, { worker: false, config: { settlementSweepMs: 1000 } });
  const payouts = await startPayoutSimulators({
    bankPublishEveryMs: 200,
    wechatNotifyUrl: `${t.url}/notify/payouts/wechat`,
  });
  usePayoutSimulators(t.ctx, payouts);
  const providersFile = writePayoutProvidersFile(payouts);
  const children = new Set<ChildProcess>();
  const track = (c: ChildProcess) => {
    children.add(c);
    c.once('exit', () => children.delete(c));
    return c;
  };
  try {
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 600 });
    const ch = await t.createChannel({ name: 'Process drill' });
    for (let s = 0; s < SELLERS; s++) {
      const id = `ps-${s}`;
      const put = await ch.client.put(`/v1/sellers/${id}`, { verified_name: 'Drill Seller', verified: true });
      if (put.status !== 200) throw new Error(`seller ${id}: ${put.status}`);
      const d = await ch.client.post(`/v1/sellers/${id}/destinations`, {
        kind: 'alipay',
        account: `13${String(200_000_000 + s).slice(-9)}`,
        holder_name: 'Drill Seller',
      });
      if (d.status !== 201) throw new Error(`destination ${id}: ${JSON.stringify(d.body)}`);
    }

    // Every process of the deployment shares the database, Redis and the keys; the rules are off, as
    // the drill hands many cards in for few sellers (docs/risk.md would hold them for velocity).
    const shared = workerEnv(t, {
      REDIS_URL: o.redisUrl,
      RECARD_RISK: 'off',
      RECARD_LOG_LEVEL: 'warn',
      RECARD_JOB_LEASE_MS: '3000',
      RECARD_PG_POOL_SIZE: '8',
      RECARD_SETTLEMENT_SWEEP_MS: '1000',
      RECARD_PAYOUT_PROVIDERS_FILE: providersFile,
      RECARD_OUTBOUND_ALLOWLIST: '127.0.0.1',
    });
    const ports = await Promise.all(Array.from({ length: o.apis }, () => freePort()));
    // As a supervisor with a restart policy (systemd's Restart=always) would: a process that cannot
    // start (the database away) is started again a second later.
    const supervised = async (args: string[], env: Record<string, string>, ready: RegExp) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return track((await startRecard(args, env, ready)).child);
        } catch (err) {
          if (attempt >= 30) throw err;
          await sleep(1_000);
        }
      }
    };
    const startApi = (k: number) =>
      supervised(['serve', '--no-worker'], { ...shared, RECARD_PORT: String(ports[k]) }, /is running at/);
    const startWorkerProcess = () => supervised(['worker', '--port', '0'], shared, /operations at/);
    const apis = await Promise.all(ports.map((_p, k) => startApi(k)));
    const workers = await Promise.all(Array.from({ length: o.workers }, () => startWorkerProcess()));
    const clients = ports.map(
      // A call to a process killed under it gets no answer: given up after 5 s and sent again.
      (p) =>
        new RecardClient({
          baseUrl: `http://127.0.0.1:${p}`,
          channelId: ch.id,
          secret: ch.secret,
          timeoutMs: 5_000,
        }),
    );
    log(`${o.apis} API and ${o.workers} worker processes up; ${total} orders at ${o.rate}/s`);

    const cards = sims.cards
      .filter(
        (c) => c.label === 'valid' && ['cmcc_national', 'telecom_guangdong', 'jd_ecard'].includes(c.cardType),
      )
      .slice(0, total);
    if (cards.length < total) throw new Error(`only ${cards.length} cards`);
    let resubmitted = 0;
    const submit = async (n: number): Promise<string> => {
      const body = simOrderBody(cards[n] as (typeof cards)[number], `pd-${n}`, `ps-${n % SELLERS}`);
      for (let attempt = 0; ; attempt++) {
        const client = clients[(n + attempt) % clients.length] as RecardClient;
        const r = await client.post<OrderView>('/v1/orders', body).catch(() => undefined);
        if (r && (r.status === 201 || r.status === 200)) return r.body.id;
        // 408 (the body did not arrive in time), 429 and 5xx are worth sending again; the rest is an answer.
        if (r && r.status < 500 && r.status !== 408 && r.status !== 429)
          throw new Error(`order ${n}: ${r.status} ${JSON.stringify(r.body)}`);
        if (attempt === 0) resubmitted++;
        if (attempt > 400) throw new Error(`order ${n}: no answer after ${attempt} tries`);
        await sleep(100);
      }
    };

    // The kills on a fixed timetable from the load's start, and the database restart half-way.
    let loading = true;
    let kills = 0;
    let databaseRestarts = 0;
    const loadStart = Date.now();
    const until = (at: number) => sleep(Math.max(0, loadStart + at - Date.now()));
    const killing = (async () => {
      for (let k = 0, at = o.killEveryMs; ; k++, at += o.killEveryMs) {
        await until(at);
        if (!loading) return;
        const a = k % apis.length;
        const w = k % workers.length;
        const api = apis[a] as ChildProcess;
        const worker = workers[w] as ChildProcess;
        api.kill('SIGKILL');
        worker.kill('SIGKILL');
        await Promise.all([once(api, 'exit'), once(worker, 'exit')]);
        kills++;
        [apis[a], workers[w]] = await Promise.all([startApi(a), startWorkerProcess()]);
        log(`kill ${kills}: API ${a} and a worker restarted`);
      }
    })();
    const restarting = (async () => {
      if (!o.restartDatabase) return;
      await until((o.seconds * 1000) / 2);
      log('restarting PostgreSQL');
      await o.restartDatabase(2_000);
      databaseRestarts++;
    })();

    const pending: Promise<string>[] = [];
    for (let n = 0; n < total; n++) {
      const due = loadStart + (n * 1000) / o.rate;
      const ahead = due - Date.now();
      if (ahead > 0) await sleep(ahead);
      pending.push(submit(n));
    }
    // Every submission settles before any failure is raised: a rejection left unheard would end the
    // process before the processes and the database it started are stopped.
    const settled = await Promise.allSettled(pending);
    loading = false;
    await Promise.all([killing, restarting]);
    const refused = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) throw refused.reason;
    const ids = settled.map((r) => (r as PromiseFulfilledResult<string>).value);
    const loadEnd = Date.now();
    log(`${ids.length} orders acknowledged (${resubmitted} sent again); waiting for them to end`);

    const db = t.ctx.storage.db;
    const open = () => countOrders(db, { notIn: ENDS });
    const deadline = Date.now() + o.drainTimeoutMs;
    for (;;) {
      const left = await open();
      if (left === 0) break;
      if (Date.now() > deadline) {
        log(`drain timed out: ${left} orders not at their end`);
        break;
      }
      await sleep(500);
    }
    const drainSeconds = Math.round((Date.now() - loadEnd) / 1000);
    // Late duplicates (a notification, an answer after a kill) land before the count.
    await sleep(1000);
    for (const c of children) c.kill('SIGTERM');
    await Promise.all([...children].map((c) => once(c, 'exit')));

    const rows = await db.selectFrom('orders').select(['id', 'status']).execute();
    const inDb = new Set(rows.map((r) => r.id));
    const acked = new Set(ids);
    const statuses: Record<string, number> = {};
    for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    let redeemedTwice = 0;
    for (const sim of sims.byIssuer.values()) {
      redeemedTwice += [...sim.book.redemptionsPerCard().values()].filter((n) => n > 1).length;
      redeemedTwice += sim.book.stats.redeemsOfConsumedCard;
    }
    const paySims = [payouts.alipay, payouts.wechat, payouts.bank];
    const report = await checkLedger(t.ctx);
    return {
      database: target.name,
      apis: o.apis,
      workers: o.workers,
      rate: o.rate,
      seconds: o.seconds,
      acknowledged: acked.size,
      resubmitted,
      kills,
      databaseRestarts,
      lost: [...acked].filter((id) => !inDb.has(id)).length,
      unacknowledged: [...inDb].filter((id) => !acked.has(id)).length,
      redeemedTwice,
      paidTwice: paySims.reduce((a, s) => a + s.payRequestsAfterPaid(), 0),
      ledgerViolations: report.violations.length,
      statuses,
      drainSeconds,
      seconds_total: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await t.stop();
    await payouts.close();
    await sims.close();
  }
}
