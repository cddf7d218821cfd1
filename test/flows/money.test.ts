import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecardClient } from '../../src/client/client.js';
import { routeCardTypesTo, usePayoutSimulators } from '../../src/main/demo.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { ALIPAY_REFUSED_ACCOUNTS } from '../../src/simulators/payout-alipay.js';
import { type PayoutSimulatorSet, startPayoutSimulators } from '../../src/simulators/payouts.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { backdateSettlement, firstBatch } from '../harness/settlement.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

interface Payout {
  id: string;
  status: string;
  amount: number;
  fee: number;
  order_ids?: string[];
  attempts: number;
  provider: string;
}
interface Account {
  id: string;
  kind: string;
  owner: string | null;
  balance: number;
  currency: string;
}

/**
 * Money end to end (docs/ledger.md, docs/settlement.md): a redeemed card is booked F/P/C/margin and
 * moves to settled in the same transaction, a T+0 seller is paid through a simulated provider and
 * the order reaches paid; unknown outcomes are settled by lookup and never paid twice; escrow holds
 * are released or voided; T+3 batches wait for approval. `recard ledger check` is clean after each.
 */
type EventList = { data: { type: string; subject_id: string }[] };

/**
 * The channel's events once its payout's `payout.paid` is among them: on PostgreSQL an event is
 * listed when the sequencer has numbered it, a moment after its commit.
 */
function eventsThrough(client: RecardClient, payoutId: string) {
  return waitFor(
    async () => {
      const data = (await client.get<EventList>('/v1/events?after=0&limit=500')).body.data;
      return data.some((e) => e.type === 'payout.paid' && e.subject_id === payoutId) ? data : undefined;
    },
    5_000,
    'the payout.paid event listed',
  );
}

describe.each(storageTargets())('money on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let payouts: PayoutSimulatorSet;
  const take = cardTaker(() => sims);
  let serial = 0;

  const clean = async () => {
    const report = await checkLedger(t.ctx);
    expect(report.violations).toEqual([]);
  };
  type Client = Awaited<ReturnType<TestServer['createChannel']>>['client'];
  const payoutOf = async (client: Client, orderId: string) =>
    waitFor(
      async () => {
        const list = (await client.get<{ data: Payout[] }>('/v1/payouts?limit=100')).body.data;
        for (const p of list) {
          const full = (await client.get<Payout>(`/v1/payouts/${p.id}`)).body;
          if (full.order_ids?.includes(orderId)) return full;
        }
        return undefined;
      },
      15_000,
      `a payout of ${orderId}`,
    );
  async function sellerWithAlipay(client: Client, seller: string, account = '13800138000') {
    expect(
      (await client.put(`/v1/sellers/${seller}`, { verified_name: '张三', verified: true })).status,
    ).toBe(200);
    const d = await client.post(`/v1/sellers/${seller}/destinations`, {
      kind: 'alipay',
      account,
      holder_name: '张三',
    });
    expect(d.status).toBe(201);
  }

  beforeAll(async () => {
    sims = await startSimulators({ seed: `money-${target.name}`, perLabel: { valid: 40, used: 5 } });
    t = await startTestServer(target, { config: { settlementSweepMs: 200 } });
    payouts = await startPayoutSimulators({
      bankPublishEveryMs: 100,
      usdtConfirmIntervalMs: 20,
      wechatNotifyUrl: `${t.url}/notify/payouts/wechat`,
      // WeChat answers "accepted" and settles a moment later: its notification tells the outcome.
      wechatSettle: 50,
    });
    usePayoutSimulators(t.ctx, payouts);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
  });
  afterAll(async () => {
    await t.stop();
    await payouts.close();
    await sims.close();
  });

  it('T+0: a redeemed card is booked F/P/C/margin, settled, paid once, and the balance says so', async () => {
    const ch = await t.createChannel({ name: 'T0' });
    await sellerWithAlipay(ch.client, 'seller-1');
    const card = take('cmcc_national', 'valid');
    const id = await submitCard(ch.client, card, `m-${++serial}`);
    const paid = await settledOrder(ch.client, id, 'paid');
    expect(paid.status).toBe('paid');
    const price = paid.price as NonNullable<OrderView['price']>;
    const payout = await payoutOf(ch.client, id);
    expect(payout).toMatchObject({ status: 'paid', amount: price.payout_amount, fee: 0, provider: 'alipay' });
    // Exactly once at the provider.
    const atSim = payouts.alipay.paid().filter((p) => p.payoutId === payout.id);
    expect(atSim).toHaveLength(1);
    expect(atSim[0]?.amount).toBe(price.payout_amount);
    // The order's history and events: redeemed → settled → paid, and payout.paid.
    const events = await eventsThrough(ch.client, payout.id);
    expect(events.filter((e) => e.subject_id === id).map((e) => e.type)).toEqual([
      'order.redeemed',
      'order.settled',
      'order.paid',
    ]);
    expect(events.some((e) => e.type === 'payout.paid' && e.subject_id === payout.id)).toBe(true);
    // Ledger: issuer receivable +F; margin F−P−C; the seller owed nothing after the payout.
    const accounts = (await t.admin('GET', '/admin/v1/accounts')).body as { data: Account[] };
    const receivable = accounts.data.find(
      (a) => a.kind === 'issuer_receivable' && a.owner === 'china_mobile',
    );
    expect(receivable?.balance).toBeGreaterThanOrEqual(price.face_value);
    const balance = (await ch.client.get<{ sellers: { owed: number }[] }>('/v1/balance?seller_id=seller-1'))
      .body;
    expect(balance.sellers[0]?.owed).toBe(0);
    // The seller's statement: credited P, then debited by the payout, running balance back to 0.
    const payable = accounts.data.find(
      (a) => a.kind === 'seller_payable' && a.owner === `${ch.id}/seller-1`,
    ) as Account;
    const entries = (await t.admin('GET', `/admin/v1/accounts/${payable.id}/entries`)).body as {
      data: { transfer_id: string; posted_balance: number }[];
    };
    expect(entries.data.map((e) => e.transfer_id)).toEqual([
      `${id}:seller`,
      `${payout.id}:amount`,
      `${payout.id}:amount:post`,
    ]);
    expect(entries.data.map((e) => e.posted_balance)).toEqual([price.payout_amount, price.payout_amount, 0]);
    await clean();
  });

  it('an unknown outcome (the provider went silent) is settled by lookup under the same id, never paid twice', async () => {
    const ch = await t.createChannel({ name: 'Unknowns' });
    await sellerWithAlipay(ch.client, 'seller-1', '13700137000');
    payouts.alipay.setFaults({ timeoutRate: 1, hangMs: 300, operations: ['pay'] });
    try {
      const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
      const payout = await waitFor(
        async () => {
          const p = (await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data[0];
          return p && p.attempts >= 2 ? p : undefined;
        },
        15_000,
        'a payout tried twice',
      );
      expect(['sending', 'unknown', 'accepted', 'paid']).toContain(payout.status);
      payouts.alipay.setFaults({ timeoutRate: 0 });
      await settledOrder(ch.client, id, 'paid', 20_000);
      const done = (await ch.client.get<Payout>(`/v1/payouts/${payout.id}`)).body;
      expect(done.status).toBe('paid');
      expect(payouts.alipay.paid().filter((p) => p.payoutId === payout.id)).toHaveLength(1);
      // Nothing that had gone through was sent again (a resend came only after a lookup said not found).
      expect(payouts.alipay.payRequestsAfterPaid()).toBe(0);
      // One payout for the order: no new id was made while the first was undecided.
      expect((await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data).toHaveLength(1);
    } finally {
      payouts.alipay.setFaults({ timeoutRate: 0 });
    }
    await clean();
  });

  it('a payout carried out but answered garbled is found paid by lookup and never sent again', async () => {
    const ch = await t.createChannel({ name: 'Garbled' });
    await sellerWithAlipay(ch.client, 'seller-1', '13710137100');
    const before = payouts.alipay.payRequestsAfterPaid();
    // Every pay is carried out and its answer cut short: the only way to know is to ask.
    payouts.alipay.setFaults({ malformedRate: 1, operations: ['pay'] });
    try {
      const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
      await settledOrder(ch.client, id, 'paid', 20_000);
      const payout = await payoutOf(ch.client, id);
      expect(payouts.alipay.payCalls()[payout.id]).toBe(1);
      expect(payouts.alipay.payRequestsAfterPaid()).toBe(before);
    } finally {
      payouts.alipay.setFaults({ malformedRate: 0 });
    }
    await clean();
  });

  it('an admin settles a payout that stays unknown; a second resolution is 409; its orders go into a new payout', async () => {
    const ch = await t.createChannel({ name: 'Stuck' });
    await sellerWithAlipay(ch.client, 'seller-1', '13720137200');
    // The provider fails every call without doing anything: the outcome stays unknown.
    payouts.alipay.setFaults({ errorRate: 1, operations: ['pay', 'lookup'] });
    let stuck: Payout | undefined;
    try {
      const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
      stuck = await waitFor(
        async () => {
          const p = (await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data[0];
          return p && p.status === 'unknown' && p.attempts >= 2 ? p : undefined;
        },
        15_000,
        'an unknown payout',
      );
      const resolved = await t.admin('POST', `/admin/v1/payouts/${stuck.id}/resolve`, {
        outcome: 'failed',
        note: 'checked with Alipay: no such transfer',
      });
      expect(resolved.status).toBe(200);
      expect(resolved.body).toMatchObject({ status: 'failed' });
      const again = await t.admin('POST', `/admin/v1/payouts/${stuck.id}/resolve`, {
        outcome: 'paid',
        note: 'twice',
      });
      expect([again.status, again.body.error?.code]).toEqual([409, 'payout_not_unknown']);
      expect(
        (
          await t.admin('POST', '/admin/v1/payouts/po_00000000000000000000000000/resolve', {
            outcome: 'paid',
            note: 'x',
          })
        ).status,
      ).toBe(404);
      payouts.alipay.setFaults({ errorRate: 0 });
      await settledOrder(ch.client, id, 'paid', 20_000);
      const all = (await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data;
      expect(all.map((p) => p.status).sort()).toEqual(['failed', 'paid']);
      // The failed one was never paid at the provider, and was not sent after it was resolved.
      expect(payouts.alipay.paid().some((p) => p.payoutId === stuck?.id)).toBe(false);
    } finally {
      payouts.alipay.setFaults({ errorRate: 0, operations: ['pay', 'lookup'] });
    }
    await clean();
  });

  it('a refused payout is failed, the seller is owed it again, and the next payout (a new id) pays it', async () => {
    const ch = await t.createChannel({ name: 'Refusals' });
    // The simulated Alipay has no user for this account: it refuses, and nothing is paid.
    await sellerWithAlipay(ch.client, 'seller-1', ALIPAY_REFUSED_ACCOUNTS[0]);
    const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
    const failed = await waitFor(
      async () => {
        const p = (await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data.find(
          (x) => x.status === 'failed',
        );
        return p;
      },
      15_000,
      'a failed payout',
    );
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('settled');
    // Still owed (posted); the sweep may already hold it again for the next try.
    const owed = (await ch.client.get<{ sellers: { owed: number }[] }>('/v1/balance')).body;
    expect(owed.sellers[0]?.owed).toBe(failed.amount);
    // The seller gives a good account; the sweep makes a new payout (a new id) for what is owed.
    const fixed = await ch.client.post('/v1/sellers/seller-1/destinations', {
      kind: 'alipay',
      account: '13600136000',
      holder_name: '张三',
      default: true,
    });
    expect(fixed.status).toBe(201);
    await settledOrder(ch.client, id, 'paid', 20_000);
    // One paid payout; every other one (the sweep may have tried the refused account again) failed.
    const all = (await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data;
    expect(all.filter((p) => p.status === 'paid')).toHaveLength(1);
    expect(all.filter((p) => p.status !== 'paid').every((p) => p.status === 'failed')).toBe(true);
    expect(all.length).toBeGreaterThanOrEqual(2);
    await clean();
  });

  it('WeChat Pay: a signed, encrypted notification settles the payout; duplicates change nothing; a forged one is 401', async () => {
    const ch = await t.createChannel({ name: 'WeChat sellers' });
    expect(
      (await ch.client.put('/v1/sellers/seller-1', { verified_name: '张三', verified: true })).status,
    ).toBe(200);
    const openid = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
    expect(
      (
        await ch.client.post('/v1/sellers/seller-1/destinations', {
          kind: 'wechat',
          account: openid,
          holder_name: '张三',
        })
      ).status,
    ).toBe(201);
    // Lookups fail and every notification comes three times: only the notification can tell, and only once.
    payouts.wechat.setFaults({ errorRate: 1, operations: ['lookup'], duplicateRate: 1 });
    try {
      const before = payouts.wechat.notificationsSent();
      const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
      await settledOrder(ch.client, id, 'paid', 20_000);
      const payout = await payoutOf(ch.client, id);
      expect(payout).toMatchObject({ status: 'paid', provider: 'wechat' });
      expect(payouts.wechat.paid().filter((p) => p.payoutId === payout.id)).toHaveLength(1);
      await waitFor(
        async () => (payouts.wechat.notificationsSent() - before >= 3 ? true : undefined),
        5_000,
        'the duplicates',
      );
      // The notification decided it (lookups all failed), once; its duplicates were taken and did nothing.
      // Sent is not yet answered: wait for the server's log of the third.
      const taken = await waitFor(
        async () => {
          const lines = t.logs.filter((l) => l.includes('"payout notification"') && l.includes(payout.id));
          return lines.length >= 3 ? lines : undefined;
        },
        5_000,
        'the notifications handled',
      );
      expect(taken.filter((l) => l.includes('"applied":true'))).toHaveLength(1);
      expect(taken.filter((l) => l.includes('"applied":false')).length).toBeGreaterThanOrEqual(2);
      const events = await eventsThrough(ch.client, payout.id);
      expect(events.filter((e) => e.type === 'payout.paid' && e.subject_id === payout.id)).toHaveLength(1);
    } finally {
      payouts.wechat.setFaults({ errorRate: 0, duplicateRate: 0, operations: ['pay', 'lookup'] });
    }
    const forged = await fetch(`${t.url}/notify/payouts/wechat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'wechatpay-timestamp': String(Math.floor(Date.now() / 1000)),
        'wechatpay-nonce': 'n',
        'wechatpay-signature': Buffer.from('forged').toString('base64'),
        'wechatpay-serial': payouts.wechat.notificationKeys.platformSerialNo,
      },
      body: JSON.stringify({ id: 'x', event_type: 'MCHTRANSFER.BILL.FINISHED', resource: {} }),
    });
    expect(forged.status).toBe(401);
    await clean();
  });

  it('escrow: the hold is made at intake, posted on redemption and voided when the card is invalid', async () => {
    const ch = await t.createChannel({
      name: 'Shop',
      kind: 'ecommerce',
      settlement: { escrow: true, cycle: 'T3' },
    });
    const good = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
    const bad = await submitCard(ch.client, take('cmcc_national', 'used'), `m-${++serial}`);
    await settledOrder(ch.client, good, 'settled');
    await settledOrder(ch.client, bad, 'invalid');
    const transfers = async (orderId: string) => t.ctx.ledger.transfersOf(t.ctx.storage.db, 'order', orderId);
    await waitFor(
      async () => ((await transfers(bad)).some((x) => x.kind === 'void') ? true : undefined),
      10_000,
      'the hold voided',
    );
    const g = await transfers(good);
    const hold = g.find((x) => x.id === `${good}:hold`);
    expect(hold?.pending_state).toBe('posted');
    // Held from intake: the hold came before the redemption's postings.
    const posted = g.find((x) => x.id === `${good}:hold:post`);
    expect(hold && posted && hold.created_at <= posted.created_at).toBe(true);
    expect(g.find((x) => x.id === `${good}:seller`)?.credit_account_id).not.toBe(
      g.find((x) => x.id === `${good}:hold`)?.credit_account_id,
    ); // the seller is credited once: by the hold, the receivable repays the funding
    expect((await transfers(bad)).find((x) => x.id === `${bad}:hold`)?.pending_state).toBe('voided');
    // Only an escrow channel's submitted order is delivered to the ledger: elsewhere it would hold
    // nothing, and the delivery is not even written.
    const plain = await t.createChannel({ name: 'Plain shop', kind: 'ecommerce' });
    const unheld = await submitCard(plain.client, take('cmcc_national', 'valid'), `m-${++serial}`);
    await settledOrder(plain.client, unheld, 'settled');
    const ledgerDeliveries = async (orderId: string) => {
      const db = t.ctx.storage.db;
      const events = await db
        .selectFrom('events')
        .select(['position', 'type'])
        .where('subject_id', '=', orderId)
        .execute();
      const jobs = await db
        .selectFrom('jobs')
        .select('payload')
        .where('kind', '=', 'events.ledger')
        .execute();
      return events
        .filter((e) => jobs.some((j) => JSON.parse(j.payload).event_position === Number(e.position)))
        .map((e) => e.type)
        .sort();
    };
    expect(await ledgerDeliveries(good)).toEqual(['order.redeemed', 'order.submitted']);
    expect(await ledgerDeliveries(unheld)).toEqual(['order.redeemed']);
    expect((await transfers(unheld)).find((x) => x.id === `${unheld}:seller`)).toBeDefined();
    await clean();
  });

  it('T+3: a closed day becomes a batch awaiting approval; a second approval is 409; the CSV lists its orders', async () => {
    const ch = await t.createChannel({
      name: 'Merchant',
      settlement: { cycle: 'T3', time_zone: 'Asia/Shanghai' },
    });
    await sellerWithAlipay(ch.client, 'seller-1', '13500135000');
    const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `m-${++serial}`);
    await settledOrder(ch.client, id, 'settled');
    // Move the order's credit into yesterday (the test cannot wait a day): the sweep closes that day.
    await backdateSettlement(t, id, 2 * 86_400_000);
    const batch = await firstBatch<{ id: string; status: string; order_count: number }>(t, ch.id);
    expect(batch).toMatchObject({ status: 'awaiting_approval', order_count: 1 });
    expect((await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data).toHaveLength(0);
    const csv = await t.admin('GET', `/admin/v1/settlement-batches/${batch.id}/orders.csv`);
    expect(csv.status).toBe(200);
    expect(String(csv.text ?? csv.body)).toContain(id);
    expect((await t.admin('POST', `/admin/v1/settlement-batches/${batch.id}/approve`)).status).toBe(200);
    const again = await t.admin('POST', `/admin/v1/settlement-batches/${batch.id}/approve`);
    expect(again.status).toBe(409);
    expect((again.body as { error: { code: string } }).error.code).toBe('already_approved');
    // Not due before day +3: still no payout.
    await new Promise((r) => setTimeout(r, 500));
    expect((await ch.client.get<{ data: Payout[] }>('/v1/payouts')).body.data).toHaveLength(0);
    // Day +3 comes (the batch's due time moved into the past, as the clock would): it is paid.
    await t.ctx.storage.db
      .updateTable('settlement_batches')
      .set({ due_at: Date.now() - 1000 })
      .where('id', '=', batch.id)
      .execute();
    await settledOrder(ch.client, id, 'paid', 20_000);
    await clean();
  });

  it('bad destinations get field-level 400s, writing nothing; another channel’s seller is 404', async () => {
    const ch = await t.createChannel({ name: 'Checks' });
    const other = await t.createChannel({ name: 'Other' });
    await ch.client.put('/v1/sellers/s9', { verified_name: '李四' });
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { kind: 'bank_card', account: '6222021234567890124', holder_name: '李四' },
        'destination_invalid',
        'account',
      ],
      [{ kind: 'usdt', account: 'T123', holder_name: '李四' }, 'destination_invalid', 'account'],
      [{ kind: 'wechat', account: 'short', holder_name: '李四' }, 'destination_invalid', 'account'],
      [
        { kind: 'alipay', account: '13800138000', holder_name: '王五' },
        'holder_name_mismatch',
        'holder_name',
      ],
    ];
    for (const [body, code, field] of cases) {
      const r = await ch.client.post<{ error: { code: string; field: string } }>(
        '/v1/sellers/s9/destinations',
        body,
      );
      expect([r.status, r.body.error.code, r.body.error.field]).toEqual([400, code, field]);
    }
    // Nothing was written by the refusals (other tests' payouts run meanwhile, so the table is asked directly).
    expect((await ch.client.get<{ data: unknown[] }>('/v1/sellers/s9/destinations')).body.data).toEqual([]);
    const ok = await ch.client.post<{ id: string }>('/v1/sellers/s9/destinations', {
      kind: 'bank_card',
      account: '6222 0212 3456 7890 128',
      holder_name: '李四',
    });
    expect(ok.status).toBe(201);
    expect((await other.client.get('/v1/sellers/s9/destinations')).status).toBe(404);
    expect((await other.client.delete(`/v1/sellers/s9/destinations/${ok.body.id}`)).status).toBe(404);
  });
});
