import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo, startDemoFxFeed, usePayoutSimulators } from '../../src/main/demo.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import type { FxFeedSimulator } from '../../src/simulators/fx-feed.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
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
  currency: string;
  order_count: number;
}
type Client = Awaited<ReturnType<TestServer['createChannel']>>['client'];

/**
 * The rules around payouts (docs/settlement.md) and the ledger's reach (docs/ledger.md): FX orders,
 * fees and minimums, the ¥5,000 unverified limit, statements, shredding, and a check that finds a
 * tampered balance.
 */
describe.each(storageTargets())('money rules on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let payouts: PayoutSimulatorSet;
  let fx: FxFeedSimulator;
  const take = cardTaker(() => sims);
  let serial = 0;
  const used = new Set<string>();
  const bigCard = () => {
    const c = sims.cards.find(
      (x) =>
        x.cardType === 'jd_ecard' && x.label === 'valid' && x.faceValue === 50_000 && !used.has(x.number),
    );
    if (!c) throw new Error('no ¥500 JD card left');
    used.add(c.number);
    return c;
  };
  const list = async (client: Client) =>
    (await client.get<{ data: Payout[] }>('/v1/payouts?limit=100')).body.data;
  async function seller(client: Client, verified: boolean, dest: Record<string, string>) {
    expect((await client.put('/v1/sellers/seller-1', { verified_name: 'Wang Wu', verified })).status).toBe(
      200,
    );
    expect(
      (await client.post('/v1/sellers/seller-1/destinations', { ...dest, holder_name: 'Wang Wu' })).status,
    ).toBe(201);
  }

  beforeAll(async () => {
    sims = await startSimulators({ seed: `rules-${target.name}`, perLabel: { valid: 60 } });
    t = await startTestServer(target, { config: { settlementSweepMs: 200 } });
    payouts = await startPayoutSimulators({ bankPublishEveryMs: 100, usdtConfirmIntervalMs: 10 });
    usePayoutSimulators(t.ctx, payouts);
    fx = await startDemoFxFeed(t.ctx);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
  });
  afterAll(async () => {
    await t.stop();
    await payouts.close();
    await fx.close();
    await sims.close();
  });

  it('a crypto channel: CNY card, seller paid the locked USDT amount to a TRC20 address, FX booked both sides', async () => {
    const ch = await t.createChannel({ name: 'Exchange', kind: 'crypto', settlement_currency: 'USDT' });
    await seller(ch.client, true, { kind: 'usdt', account: 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE' });
    const id = await submitCard(ch.client, take('cmcc_national', 'valid'), `r-${++serial}`);
    const paid = await settledOrder(ch.client, id, 'paid', 20_000);
    const price = paid.price as NonNullable<OrderView['price']>;
    expect(price.payout_currency).toBe('USDT');
    const [p] = await list(ch.client);
    expect(p).toMatchObject({ status: 'paid', currency: 'USDT', amount: price.payout_amount });
    expect(payouts.usdt.paid().filter((x) => x.payoutId === p?.id)).toHaveLength(1);
    const transfers = await t.ctx.ledger.transfersOf(t.ctx.storage.db, 'order', id);
    expect(transfers.find((x) => x.id === `${id}:fx_out`)).toMatchObject({
      currency: 'CNY',
      amount: price.seller_amount,
    });
    expect(transfers.find((x) => x.id === `${id}:seller`)).toMatchObject({
      currency: 'USDT',
      amount: price.payout_amount,
    });
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
  });

  it('a payout waits for the minimum, then carries every owed order less the fee (to a bank card)', async () => {
    const ch = await t.createChannel({ name: 'Fees', settlement: { min_payout: 5_000, payout_fee: 100 } });
    await seller(ch.client, true, { kind: 'bank_card', account: '6222021234567890128' });
    const first = await submitCard(ch.client, take('cmcc_national', 'valid'), `r-${++serial}`);
    const o1 = await settledOrder(ch.client, first, 'settled');
    const p1 = (o1.price as NonNullable<OrderView['price']>).payout_amount;
    const cards: string[] = [first];
    let owed = p1;
    // Below the minimum nothing is paid; add cards until it is reached.
    while (owed < 5_000) {
      await new Promise((r) => setTimeout(r, 500));
      expect(await list(ch.client)).toHaveLength(0);
      const next = await submitCard(ch.client, take('cmcc_national', 'valid'), `r-${++serial}`);
      cards.push(next);
      owed += ((await settledOrder(ch.client, next, 'settled')).price as NonNullable<OrderView['price']>)
        .payout_amount;
    }
    for (const id of cards) await settledOrder(ch.client, id, 'paid', 20_000);
    const all = await list(ch.client);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ status: 'paid', fee: 100, amount: owed - 100, order_count: cards.length });
    const fees = (await t.admin('GET', '/admin/v1/accounts?kind=fees&currency=CNY')).body as {
      data: { balance: number }[];
    };
    expect(fees.data[0]?.balance).toBeGreaterThanOrEqual(100);
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
  });

  it('an unverified seller is paid at most ¥5,000 a day; verified, the rest goes out', async () => {
    const ch = await t.createChannel({ name: 'Unverified' });
    await seller(ch.client, false, { kind: 'alipay', account: '13312345678' });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await submitCard(ch.client, bigCard(), `r-${++serial}`));
    for (const id of ids) await settledOrder(ch.client, id, 'settled', 20_000);
    await waitFor(
      async () => {
        const ps = await list(ch.client);
        return ps.length > 0 && ps.every((p) => p.status === 'paid') ? true : undefined;
      },
      15_000,
      'the first payouts',
    );
    await new Promise((r) => setTimeout(r, 600)); // a few sweeps: none may go past the limit
    const paidTotal = (await list(ch.client))
      .filter((p) => p.status !== 'failed')
      .reduce((a, p) => a + p.amount + p.fee, 0);
    expect(paidTotal).toBeLessThanOrEqual(500_000);
    const waiting = [];
    for (const id of ids)
      if ((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status === 'settled') waiting.push(id);
    expect(waiting.length).toBeGreaterThan(0);
    expect((await ch.client.put('/v1/sellers/seller-1', { verified: true })).status).toBe(200);
    for (const id of waiting) await settledOrder(ch.client, id, 'paid', 20_000);
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
  });

  it('T+1: orders wait for their day to close, then one approved batch pays them; the channel cap holds the rest', async () => {
    const ch = await t.createChannel({
      name: 'Daily',
      settlement: { cycle: 'T1', time_zone: 'Asia/Shanghai', cutoff: '00:00' },
    });
    await seller(ch.client, true, { kind: 'alipay', account: '13212345678' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(await submitCard(ch.client, take('cmcc_national', 'valid'), `r-${++serial}`));
    const prices: number[] = [];
    for (const id of ids)
      prices.push(
        ((await settledOrder(ch.client, id, 'settled')).price as NonNullable<OrderView['price']>)
          .payout_amount,
      );
    await new Promise((r) => setTimeout(r, 600));
    expect(await list(ch.client)).toHaveLength(0); // today is not closed
    // Only two of the three fit under the cap today.
    const cap = (prices[0] ?? 0) + (prices[1] ?? 0);
    expect(
      (
        await t.admin('PATCH', `/admin/v1/channels/${ch.id}`, {
          settlement: { seller_daily_payout_cap: cap },
        })
      ).status,
    ).toBe(200);
    // As if the orders had been credited yesterday.
    for (const id of ids) await backdateSettlement(t, id, 86_400_000);
    const batch = await firstBatch<{ status: string; order_count: number }>(t, ch.id);
    expect(batch).toMatchObject({ status: 'approved', order_count: 3 });
    await settledOrder(ch.client, ids[0] as string, 'paid', 20_000);
    await settledOrder(ch.client, ids[1] as string, 'paid', 20_000);
    await new Promise((r) => setTimeout(r, 600));
    expect((await ch.client.get<OrderView>(`/v1/orders/${ids[2]}`)).body.status).toBe('settled');
    const ps = await list(ch.client);
    expect(ps.reduce((a, p) => a + p.amount + p.fee, 0)).toBeLessThanOrEqual(cap);
    // A bad time zone is refused with its field.
    const bad = await t.admin('PATCH', `/admin/v1/channels/${ch.id}`, {
      settlement: { time_zone: 'Mars/Olympus' },
    });
    expect([bad.status, bad.body.error?.code, bad.body.error?.field]).toEqual([
      400,
      'invalid_request',
      'settlement.time_zone',
    ]);
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
  });

  it('a statement pages with running balances that carry over; shredding keeps the duplicate check', async () => {
    const ch = await t.createChannel({ name: 'Statements' });
    await seller(ch.client, true, { kind: 'alipay', account: '13412345678' });
    const card = take('cmcc_national', 'valid');
    const id = await submitCard(ch.client, card, `r-${++serial}`);
    await settledOrder(ch.client, id, 'paid', 20_000);
    const accounts = (await t.admin('GET', `/admin/v1/accounts?kind=seller_payable&owner=${ch.id}/seller-1`))
      .body as { data: { id: string }[] };
    const acct = accounts.data[0]?.id as string;
    const whole = (await t.admin('GET', `/admin/v1/accounts/${acct}/entries`)).body as {
      data: { entry: string; posted_balance: number; pending_balance: number }[];
    };
    const paged: typeof whole.data = [];
    let after: string | null = null;
    do {
      const page = (
        await t.admin('GET', `/admin/v1/accounts/${acct}/entries?limit=1${after ? `&after=${after}` : ''}`)
      ).body as { data: typeof whole.data; next_cursor: string | null };
      paged.push(...page.data);
      after = page.next_cursor;
    } while (after);
    expect(paged).toEqual(whole.data);
    expect(whole.data.at(-1)).toMatchObject({ posted_balance: 0, pending_balance: 0 });
    expect((await t.admin('GET', '/admin/v1/accounts/acc_00000000000000000000000000/entries')).status).toBe(
      404,
    );

    // Crypto-shredding, as if the retention window had passed.
    const later = Date.now() + 31 * 86_400_000;
    expect(await t.ctx.orders.shredPaidCards(later, true)).toBeGreaterThanOrEqual(1);
    expect(await t.ctx.orders.revealCard(id)).toBeDefined(); // a dry run removes nothing
    expect(await t.ctx.orders.shredPaidCards(later, false)).toBeGreaterThanOrEqual(1);
    expect(await t.ctx.orders.revealCard(id)).toBeUndefined();
    const again = await ch.client.post<{ error: { code: string } }>('/v1/orders', {
      merchant_order_id: `r-${++serial}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 'seller-1' },
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'card_already_submitted']);
  });

  it('the check finds a balance changed behind the ledger’s back', async () => {
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
    const [a] = await t.ctx.storage.db
      .selectFrom('ledger_accounts')
      .select(['id', 'credits_posted'])
      .where('kind', '=', 'margin')
      .execute();
    await t.ctx.storage.db
      .updateTable('ledger_accounts')
      .set({ credits_posted: (a?.credits_posted ?? 0) + 1 })
      .where('id', '=', a?.id as string)
      .execute();
    const rules = (await checkLedger(t.ctx)).violations.map((v) => v.rule).sort();
    expect(rules).toEqual(['balance_differs_from_transfers', 'currency_does_not_balance']);
    await t.ctx.storage.db
      .updateTable('ledger_accounts')
      .set({ credits_posted: a?.credits_posted ?? 0 })
      .where('id', '=', a?.id as string)
      .execute();
    expect((await checkLedger(t.ctx)).violations).toEqual([]);
  });
});
