import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from '../../src/modules/orders/model.js';
import type { FxRateView, PriceExplanation, QuoteView } from '../../src/modules/pricing/model.js';
import { pruneFxRates } from '../../src/modules/pricing/store.js';
import { type FxFeedSimulator, startFxFeedSimulator } from '../../src/simulators/fx-feed.js';
import { ShiftedClock } from '../harness/clock.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

type Channel = Awaited<ReturnType<TestServer['createChannel']>>;
const MAX_AGE_S = 30;

/** floor(cny_fen / 100 × 10^6 / rate): the payout in micro-USDT, computed here independently. */
const usdtFor = (fen: number, usdtInCny: string) => {
  const [whole = '', frac = ''] = usdtInCny.split('.');
  const num = BigInt(whole + frac);
  const den = 10n ** BigInt(frac.length);
  return Number((BigInt(fen) * 10n ** 6n * den) / (num * 100n));
};

describe.each(storageTargets())('cross-currency pricing on $name', (target) => {
  let t: TestServer;
  let sim: FxFeedSimulator;
  let crypto: Channel;
  let shop: Channel;
  const clock = new ShiftedClock();
  beforeAll(async () => {
    sim = await startFxFeedSimulator({ settings: { publishEveryS: 1 } });
    // No worker: the feed is read when a test says so (the scheduled read has its own test below).
    t = await startTestServer(target, {
      worker: false,
      clock,
      config: { pricingRefreshMs: 0, fxFeedUrl: sim.feedUrl, fxMaxAgeS: MAX_AGE_S },
    });
    crypto = await t.createChannel({ name: 'Exchange', kind: 'crypto', settlement_currency: 'USDT' });
    shop = await t.createChannel({ name: 'Shop' });
  });
  afterAll(async () => {
    await t.stop();
    await sim.close();
  });

  const quote = (client = crypto.client) =>
    client.get<QuoteView>('/v1/quotes?card_type=cmcc_national&face_value=10000');
  const refresh = () => {
    const source = t.ctx.fxSource;
    if (!source) throw new Error('no feed configured');
    return t.ctx.pricingAdmin.refreshFx(source);
  };

  it('reads nothing until the feed is read: cross-currency quotes wait for a rate', async () => {
    await expectRefusal(t, () => quote(), { status: 503, code: 'fx_unavailable', nonceSpent: true });
    expect(await refresh()).toBe(4);
    expect(await refresh()).toBe(0); // not republished since: nothing new
  });

  it('pays a CNY card in USDT at the exact rate, rounded down, and shows the rate it used', async () => {
    const q = (await quote()).body;
    expect(q).toMatchObject({
      currency: 'CNY',
      seller_amount: 9_600,
      payout_currency: 'USDT',
      payout_amount: usdtFor(9_600, '7.2512'),
      fx: { base: 'USDT', quote: 'CNY', rate: '7.2512' },
    });
    expect(q.payout_amount).toBe(13_239_187); // 96 / 7.2512 = 13.2391879… USDT
    const e = (await t.admin('GET', `/admin/v1/prices/${q.quote_id}`)).body as PriceExplanation;
    expect(e.fx_source).toMatchObject({ source: 'feed' });
  });

  it('locks the rate: an order keeps the rate of its quote or of its intake when the feed moves', async () => {
    const q = (await quote()).body;
    const atIntake = await crypto.client.post<OrderView>('/v1/orders', mobileOrder());
    expect(atIntake.body.price).toMatchObject({ payout_amount: 13_239_187, fx: { rate: '7.2512' } });

    sim.set({ rates: { CNY: '7.5000' } });
    await waitFor(async () => (await refresh()) > 0, 5_000, 'the next publication');
    expect((await quote()).body.fx?.rate).toBe('7.5000');
    const withQuote = await crypto.client.post<OrderView>(
      '/v1/orders',
      mobileOrder({ quote_id: q.quote_id }),
    );
    expect(withQuote.body.price).toMatchObject({ payout_amount: 13_239_187, fx: { rate: '7.2512' } });
    const fresh = await crypto.client.post<OrderView>('/v1/orders', mobileOrder());
    expect(fresh.body.price).toMatchObject({ payout_amount: usdtFor(9_600, '7.5000') });
    const reread = await crypto.client.get<OrderView>(`/v1/orders/${atIntake.body.id}`);
    expect(reread.body.price?.payout_amount).toBe(13_239_187);
  });

  it('an FX outage refuses cross-currency intake (503 fx_unavailable, Retry-After) while same-currency intake goes on', async () => {
    sim.set({ trouble: 'error' });
    await expect(refresh()).rejects.toMatchObject({ kind: 'unavailable' });
    clock.advance((MAX_AGE_S + 2) * 1000); // every stored feed rate is now stale
    const refused = await expectRefusal(t, () => quote(), {
      status: 503,
      code: 'fx_unavailable',
      nonceSpent: true,
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectRefusal(t, () => crypto.client.post('/v1/orders', mobileOrder()), {
      status: 503,
      code: 'fx_unavailable',
      nonceSpent: true,
    });
    const sameCurrency = await shop.client.post<OrderView>('/v1/orders', mobileOrder());
    expect(sameCurrency.status).toBe(201);
    expect(sameCurrency.body.price).toMatchObject({ payout_currency: 'CNY', payout_amount: 9_600, fx: null });

    // The manual table is the fallback while it is valid.
    const manual = await t.admin('PUT', '/admin/v1/fx-rates/USDT/CNY', { rate: '7.3100', valid_for_s: 600 });
    expect(manual.status).toBe(200);
    const q = (await quote()).body;
    expect(q).toMatchObject({ fx: { rate: '7.3100' }, payout_amount: usdtFor(9_600, '7.3100') });
    const e = (await t.admin('GET', `/admin/v1/prices/${q.quote_id}`)).body as PriceExplanation;
    expect(e.fx_source).toMatchObject({ source: 'manual' });
    const list = ((await t.admin('GET', '/admin/v1/fx-rates')).body as { data: FxRateView[] }).data;
    expect(list.find((r) => r.quote === 'CNY' && r.source === 'feed')?.fresh).toBe(false);
    expect(list.find((r) => r.quote === 'CNY' && r.source === 'manual')?.fresh).toBe(true);

    // The feed is back: it wins again. (Our clock returns to the feed's, which never moved ahead.)
    clock.advance(-(MAX_AGE_S + 2) * 1000);
    sim.set({ trouble: 'none', rates: { CNY: '7.2600' } });
    await waitFor(async () => (await refresh()) > 0, 5_000, 'the next publication');
    expect((await quote()).body.fx?.rate).toBe('7.2600');
  });

  it('prunes feed rates no price used, and keeps the ones that explain a price', async () => {
    const used = (await quote()).body.fx;
    const db = t.ctx.storage.db;
    const before = await db.selectFrom('fx_rates').select(['id', 'rate', 'source', 'used']).execute();
    expect(before.some((r) => r.used === 0 && r.source === 'feed')).toBe(true);
    await pruneFxRates(db, clock.now() + 86_400_000, 1_000);
    const after = await db.selectFrom('fx_rates').select(['id', 'rate', 'source', 'used']).execute();
    expect(after.every((r) => r.used === 1 || r.source === 'manual')).toBe(true);
    expect(after.some((r) => r.rate === used?.rate && r.source === 'feed')).toBe(true);
    // Every stored price still explains itself.
    const prices = await db.selectFrom('prices').select('id').where('fx_rate_id', 'is not', null).execute();
    for (const p of prices)
      expect(
        ((await t.admin('GET', `/admin/v1/prices/${p.id}`)).body as PriceExplanation).fx_source,
      ).not.toBeNull();
  });

  it('refuses a manual rate that is not an exact positive decimal or pairs a currency with itself', async () => {
    for (const rate of ['7,31', '7.31e0', '-7.31', '0', 7.31])
      await expectRefusal(t, () => t.admin('PUT', '/admin/v1/fx-rates/USDT/CNY', { rate }), {
        status: 400,
        code: 'invalid_request',
        field: 'rate',
      });
    await expectRefusal(t, () => t.admin('PUT', '/admin/v1/fx-rates/CNY/CNY', { rate: '1' }), {
      status: 400,
      code: 'invalid_request',
      field: 'quote',
    });
    await expectRefusal(t, () => t.admin('PUT', '/admin/v1/fx-rates/XAU/CNY', { rate: '1' }), {
      status: 400,
      code: 'invalid_request',
      field: 'params.base',
    });
  });
});

describe('the scheduled exchange-rate read', () => {
  it('reads the configured feed by itself, every RECARD_FX_POLL_MS', async () => {
    const sim = await startFxFeedSimulator({ settings: { publishEveryS: 1 } });
    const [target] = storageTargets();
    if (!target) throw new Error('no storage target');
    const t = await startTestServer(target, { config: { fxFeedUrl: sim.feedUrl, fxPollMs: 1_000 } });
    try {
      const rate = await waitFor(
        async () => {
          const list = ((await t.admin('GET', '/admin/v1/fx-rates')).body as { data: FxRateView[] }).data;
          return list.find((r) => r.quote === 'CNY' && r.source === 'feed');
        },
        8_000,
        'a rate from the feed',
      );
      expect(rate).toMatchObject({ base: 'USDT', rate: '7.2512', fresh: true });
      const reads = sim.requests;
      await waitFor(() => sim.requests > reads, 5_000, 'another read');
    } finally {
      await t.stop();
      await sim.close();
    }
  });
});
