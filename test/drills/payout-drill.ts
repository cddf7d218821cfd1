import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecardClient } from '../../src/client/client.js';
import { routeCardTypesTo, usePayoutSimulators } from '../../src/main/demo.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import { startSimulators } from '../../src/simulators/index.js';
import { type PayoutSimulatorSet, startPayoutSimulators } from '../../src/simulators/payouts.js';
import { countOrders } from '../harness/orders.js';
import { spawnReady } from '../harness/processes.js';
import { startTestServer, workerEnv } from '../harness/server.js';
import type { StorageTarget } from '../harness/storage.js';
import { sleep } from '../harness/wait.js';

export interface DrillOptions {
  payouts: number;
  /** Share of pay calls that time out (half of them carried out) or come back garbled. */
  faultRate: number;
  /** Kill the worker with SIGKILL every this many ms (random 0.5×–1.5×) until the work is done. */
  killEveryMs: number;
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface DrillFigures {
  database: string;
  payouts: number;
  kills: number;
  payCalls: number;
  duplicatesAtProvider: number;
  providerPaidEqualsLedger: boolean;
  ordersPaidOnce: boolean;
  ledgerViolations: number;
  seconds: number;
}

const KINDS = [
  (i: number) => ({ kind: 'alipay', account: `13${String(100_000_000 + i).slice(-9)}` }),
  (i: number) => ({ kind: 'wechat', account: `o${String(i).padStart(27, 'x')}` }),
  (i: number) => ({ kind: 'bank_card', account: luhn(`62220200${String(i).padStart(10, '0')}`) }),
];

function luhn(body: string): string {
  for (let d = 0; d <= 9; d++) {
    const s = `${body}${d}`;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let v = s.charCodeAt(s.length - 1 - i) - 48;
      if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
    }
    if (sum % 10 === 0) return s;
  }
  throw new Error('unreachable');
}

/** The payout providers of `payouts` as RECARD_PAYOUT_PROVIDERS_FILE, for worker processes. */
export function writePayoutProvidersFile(payouts: PayoutSimulatorSet): string {
  const file = join(mkdtempSync(join(tmpdir(), 'recard-drill-')), 'payout-providers.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: Object.values(payouts.configs),
      wechat_notification: { apiV3Key: payouts.wechat.notificationKeys.apiV3Key, maxSkewS: 300 },
    }),
  );
  return file;
}

/**
 * The payout drill (docs/reliability.md): N sellers each hand in one card on a T+0 channel; the
 * payout providers time out or garble 30% of pay calls (half of the timeouts are carried out), and
 * the only worker process is killed with SIGKILL again and again. Afterwards nothing may be paid
 * twice at any provider, the providers' records must equal the ledger's, every order must be paid
 * exactly once and `recard ledger check` must be clean.
 */
export async function runPayoutDrill(target: StorageTarget, o: DrillOptions): Promise<DrillFigures> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const children: ChildProcess[] = [];
  const perType = Math.ceil(o.payouts / 3) + 5;
  const sims = await startSimulators({
    seed: `drill-${target.name}-${o.payouts}`,
    perLabel: { valid: perType },
  });
  const t = await startTestServer(target, { worker: false, config: { settlementSweepMs: 1000 } });
  const payouts = await startPayoutSimulators({
    bankPublishEveryMs: 200,
    wechatNotifyUrl: `${t.url}/notify/payouts/wechat`,
    faults: {
      timeoutRate: o.faultRate / 2,
      malformedRate: o.faultRate / 2,
      hangMs: 300,
      operations: ['pay'],
    },
  });
  usePayoutSimulators(t.ctx, payouts);
  const providersFile = writePayoutProvidersFile(payouts);
  let kills = 0;
  try {
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 600 });
    const ch = await t.createChannel({ name: 'Drill' });
    const client: RecardClient = ch.client;
    const cards = sims.cards
      .filter(
        (c) => c.label === 'valid' && ['cmcc_national', 'telecom_guangdong', 'jd_ecard'].includes(c.cardType),
      )
      .slice(0, o.payouts);
    if (cards.length < o.payouts) throw new Error(`only ${cards.length} cards`);
    log(`sellers and destinations for ${o.payouts} payouts`);
    for (let i = 0; i < o.payouts; i += 50)
      await Promise.all(
        cards.slice(i, i + 50).map(async (_c, j) => {
          const n = i + j;
          const s = `s-${n}`;
          const put = await client.put(`/v1/sellers/${s}`, { verified_name: 'Drill Seller', verified: true });
          if (put.status !== 200) throw new Error(`seller ${s}: ${put.status}`);
          const d = await client.post(`/v1/sellers/${s}/destinations`, {
            ...(KINDS[n % 3] as (i: number) => object)(n),
            holder_name: 'Drill Seller',
          });
          if (d.status !== 201) throw new Error(`destination ${s}: ${JSON.stringify(d.body)}`);
        }),
      );
    const env = workerEnv(t, {
      RECARD_JOB_LEASE_MS: '1500',
      RECARD_PG_POOL_SIZE: '20',
      RECARD_SETTLEMENT_SWEEP_MS: '1000',
      RECARD_PAYOUT_PROVIDERS_FILE: providersFile,
    });
    let worker = await spawnReady('test/fixtures/recard-worker.ts', env, children);
    log('submitting');
    const ids: string[] = [];
    for (let i = 0; i < cards.length; i += 100)
      ids.push(
        ...(await Promise.all(
          cards.slice(i, i + 100).map(async (c, j) => {
            const r = await client.post<{ id: string }>('/v1/orders', {
              merchant_order_id: `drill-${i + j}`,
              card_type: c.cardType,
              card_number: c.number,
              card_secret: c.secret,
              declared_face_value: c.declaredFaceValue,
              seller: { id: `s-${i + j}` },
            });
            if (r.status !== 201) throw new Error(`order ${i + j}: ${r.status}`);
            return r.body.id;
          }),
        )),
      );
    const db = t.ctx.storage.db;
    const paidCount = () => countOrders(db, { in: ['paid'] });
    const deadline = Date.now() + o.timeoutMs;
    // Kill the worker at random moments until every order is paid.
    while ((await paidCount()) < ids.length) {
      if (Date.now() > deadline)
        throw new Error(`drill timed out: ${await paidCount()} of ${ids.length} paid`);
      await sleep(Math.round(o.killEveryMs * (0.5 + Math.random())));
      if ((await paidCount()) >= ids.length) break;
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      kills++;
      worker = await spawnReady('test/fixtures/recard-worker.ts', env, children);
      log(`kill ${kills}: ${await paidCount()} of ${ids.length} paid`);
    }
    // Let in-flight duplicates (notifications, late answers) land, then compare.
    await sleep(1000);
    worker.kill('SIGKILL');
    await once(worker, 'exit');

    const sims3 = [payouts.alipay, payouts.wechat, payouts.bank];
    const atProviders = sims3.flatMap((s) => s.paid());
    // What would have paid twice: a pay request for an id the provider had already paid.
    const duplicates = sims3.reduce((a, s) => a + s.payRequestsAfterPaid(), 0);
    const ledgerPaid = await db
      .selectFrom('payouts')
      .select(['id', 'amount'])
      .where('status', '=', 'paid')
      .execute();
    const providerAmount = new Map(atProviders.map((p) => [p.payoutId, p.amount]));
    const equal =
      ledgerPaid.length === providerAmount.size &&
      ledgerPaid.every((p) => providerAmount.get(p.id) === p.amount);
    const items = await db
      .selectFrom('settlement_items')
      .select(['order_id', 'payout_id', 'paid_at'])
      .execute();
    const paidIds = new Set(ledgerPaid.map((p) => p.id));
    const ordersPaidOnce =
      items.length === ids.length &&
      items.every((i) => i.paid_at !== null && i.payout_id !== null && paidIds.has(i.payout_id)) &&
      (await paidCount()) === ids.length;
    const report = await checkLedger(t.ctx);
    const payCalls = sims3.reduce((a, s) => a + Object.values(s.payCalls()).reduce((x, y) => x + y, 0), 0);
    return {
      database: target.name,
      payouts: ledgerPaid.length,
      kills,
      payCalls,
      duplicatesAtProvider: duplicates,
      providerPaidEqualsLedger: equal,
      ordersPaidOnce,
      ledgerViolations: report.violations.length,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t.stop();
    await payouts.close();
    await sims.close();
  }
}
