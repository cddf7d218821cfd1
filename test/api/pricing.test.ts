import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from '../../src/modules/orders/model.js';
import type {
  AdjustmentView,
  PriceExplanation,
  QuoteView,
  RateSheetList,
  RateSheetView,
} from '../../src/modules/pricing/model.js';
import { pruneQuotes } from '../../src/modules/pricing/store.js';
import { ShiftedClock } from '../harness/clock.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

type Channel = Awaited<ReturnType<TestServer['createChannel']>>;
const QUOTE_TTL_S = 60;

describe.each(storageTargets())('pricing on $name', (target) => {
  let t: TestServer;
  let ch: Channel;
  let other: Channel;
  const clock = new ShiftedClock();
  beforeAll(async () => {
    t = await startTestServer(target, {
      worker: false,
      clock,
      config: { pricingRefreshMs: 0, quoteTtlS: QUOTE_TTL_S },
    });
    ch = await t.createChannel({ name: 'Shop A' });
    other = await t.createChannel({ name: 'Shop B' });
  });
  afterAll(() => t.stop());

  const quote = (cardType: string, face: number, client = ch.client) =>
    client.get<QuoteView>(`/v1/quotes?card_type=${cardType}&face_value=${face}`);
  const addSheet = (body: Record<string, unknown>) => t.admin('POST', '/admin/v1/rates', body);
  const submit = (body: unknown, client = ch.client) => client.post<OrderView>('/v1/orders', body);

  it('quotes a card from the seeded default table: payout, rate, currency and a quote id held for the TTL', async () => {
    const res = await quote('cmcc_national', 10_000);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      card_type: 'cmcc_national',
      face_value: 10_000,
      currency: 'CNY',
      rate_bps: 9_600,
      seller_amount: 9_600,
      commission_amount: 0,
      payout_amount: 9_600,
      payout_currency: 'CNY',
      fx: null,
    });
    expect(res.body.quote_id).toMatch(/^quo_[0-9a-z]{26}$/);
    expect(Date.parse(res.body.expires_at) - Date.parse(res.body.priced_at)).toBe(QUOTE_TTL_S * 1000);
  });

  it('refuses what it cannot price, each with its code and field, writing nothing', async () => {
    const refused = (path: string, status: number, code: string, field?: string) =>
      expectRefusal(t, () => ch.client.get(path), {
        status,
        code,
        ...(field ? { field } : {}),
        nonceSpent: true,
      });
    await refused(
      '/v1/quotes?card_type=cmcc_national&face_value=12345',
      400,
      'unsupported_face_value',
      'face_value',
    );
    await refused(
      '/v1/quotes?card_type=no_such_card&face_value=10000',
      400,
      'unsupported_card_type',
      'card_type',
    );
    await refused('/v1/quotes?card_type=cmcc_national', 400, 'invalid_request', 'query.face_value');
    await refused(
      '/v1/quotes?card_type=cmcc_national&face_value=-5',
      400,
      'invalid_request',
      'query.face_value',
    );
    // Withdraw the default sheet of one card type: nobody has an offer for it any more.
    expect((await addSheet({ tier: 'default', card_type: 'cmcc_liaoning', ranges: [] })).status).toBe(201);
    await refused('/v1/quotes?card_type=cmcc_liaoning&face_value=5000', 422, 'no_offer', 'face_value');
    const order = mobileOrder({
      card_type: 'cmcc_liaoning',
      card_number: '1234567890123456',
      card_secret: '1'.repeat(21),
    });
    await expectRefusal(t, () => submit(order), {
      status: 422,
      code: 'no_offer',
      field: 'declared_face_value',
      nonceSpent: true,
    });
  });

  it("an order with a valid quote is settled at the quote's price even after the rate changed; without one at the price in force", async () => {
    const q = (await quote('unicom_national', 5_000)).body;
    expect(q.rate_bps).toBe(9_550);
    const raised = await addSheet({
      tier: 'default',
      card_type: 'unicom_national',
      note: 'weekend promotion',
      ranges: [{ face_min: 2_000, face_max: 50_000, bps: 9_700 }],
    });
    expect(raised.status).toBe(201);
    expect((await quote('unicom_national', 5_000)).body.rate_bps).toBe(9_700);

    const unicom = (n: number) =>
      mobileOrder({
        card_type: 'unicom_national',
        card_number: `8${String(n).padStart(14, '0')}`,
        card_secret: '7'.repeat(19),
        declared_face_value: 5_000,
      });
    const withQuote = await submit({ ...unicom(1), quote_id: q.quote_id });
    expect(withQuote.status).toBe(201);
    expect(withQuote.body.price).toMatchObject({
      price_id: q.quote_id,
      quote_id: q.quote_id,
      rate_bps: 9_550,
      seller_amount: 4_775,
      payout_amount: 4_775,
    });
    const without = await submit(unicom(2));
    expect(without.body.price).toMatchObject({ quote_id: null, rate_bps: 9_700, payout_amount: 4_850 });
    expect(without.body.price?.price_id).toMatch(/^prc_/);
    // Read back, the orders keep their prices.
    expect(
      (await ch.client.get<OrderView>(`/v1/orders/${withQuote.body.id}`)).body.price?.payout_amount,
    ).toBe(4_775);
    const list = await ch.client.get<{ data: OrderView[] }>('/v1/orders?card_type=unicom_national');
    expect(list.body.data.map((o) => o.price?.payout_amount).sort()).toEqual([4_775, 4_850]);

    // Which rate row made each price.
    const explained = await t.admin('GET', `/admin/v1/prices/${without.body.price?.price_id}`);
    const e = explained.body as PriceExplanation;
    expect(e).toMatchObject({ kind: 'intake', order_id: without.body.id, table_rate_bps: 9_700 });
    expect(e.rate).toMatchObject({
      sheet_id: (raised.body as RateSheetView).id,
      tier: 'default',
      note: 'weekend promotion',
    });
    expect(e.seller_amount + e.commission_amount + e.margin_amount).toBe(e.face_value);
    const old = (await t.admin('GET', `/admin/v1/prices/${q.quote_id}`)).body as PriceExplanation;
    expect(old.rate).toMatchObject({ bps: 9_550, note: 'seeded default' });
  });

  it('refuses an expired, foreign or mismatched quote with 409, writing nothing', async () => {
    const q = (await quote('cmcc_national', 5_000)).body;
    const refuse = (body: unknown, code: string, client = ch.client) =>
      expectRefusal(t, () => submit(body, client), {
        status: 409,
        code,
        field: 'quote_id',
        nonceSpent: true,
      });
    await refuse(
      mobileOrder({ declared_face_value: 5_000, quote_id: q.quote_id }),
      'quote_expired',
      other.client,
    );
    await refuse(mobileOrder({ declared_face_value: 10_000, quote_id: q.quote_id }), 'quote_mismatch');
    await refuse(
      mobileOrder({ declared_face_value: 5_000, quote_id: `quo_${'0'.repeat(26)}` }),
      'quote_expired',
    );
    clock.advance(QUOTE_TTL_S * 1000 + 1);
    await refuse(mobileOrder({ declared_face_value: 5_000, quote_id: q.quote_id }), 'quote_expired');
  });

  it('the most specific tier wins: channel over group over default, range by range', async () => {
    const group = await t.admin('PUT', '/admin/v1/channel-groups/agents_south', { name: 'Southern agents' });
    expect(group.status).toBe(200);
    const agent = await t.createChannel({ name: 'Agent shop', group_id: 'agents_south' });
    expect(
      (
        await addSheet({
          tier: 'group',
          tier_id: 'agents_south',
          card_type: 'jd_ecard',
          ranges: [{ face_min: 5_000, face_max: 50_000, bps: 9_700 }],
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await addSheet({
          tier: 'channel',
          tier_id: agent.id,
          card_type: 'jd_ecard',
          ranges: [{ face_min: 10_000, face_max: 10_000, bps: 9_800 }],
        })
      ).status,
    ).toBe(201);
    expect((await quote('jd_ecard', 10_000, agent.client)).body.rate_bps).toBe(9_800); // channel
    expect((await quote('jd_ecard', 20_000, agent.client)).body.rate_bps).toBe(9_700); // group
    expect((await quote('jd_ecard', 100_000, agent.client)).body.rate_bps).toBe(9_650); // default
    expect((await quote('jd_ecard', 10_000)).body.rate_bps).toBe(9_650); // not in the group

    // Moving a channel into the group gives it the group's rates; the admin API checks the group.
    const joined = await t.admin('PATCH', `/admin/v1/channels/${other.id}`, { group_id: 'agents_south' });
    expect(joined.body).toMatchObject({ id: other.id, group_id: 'agents_south', settlement_currency: null });
    expect((await quote('jd_ecard', 20_000, other.client)).body.rate_bps).toBe(9_700);
    await expectRefusal(t, () => t.admin('PATCH', `/admin/v1/channels/${other.id}`, { group_id: 'nobody' }), {
      status: 400,
      code: 'unknown_reference',
      field: 'group_id',
    });
    await expectRefusal(
      t,
      () => t.admin('PATCH', `/admin/v1/channels/ch_${'0'.repeat(26)}`, { group_id: null }),
      {
        status: 404,
        code: 'channel_not_found',
      },
    );
    expect((await t.admin('PATCH', `/admin/v1/channels/${other.id}`, { group_id: null })).status).toBe(200);
    expect((await quote('jd_ecard', 20_000, other.client)).body.rate_bps).toBe(9_650);

    const explain = await t.admin(
      'GET',
      `/admin/v1/rates/explain?channel_id=${agent.id}&card_type=jd_ecard&face_value=20000`,
    );
    expect(explain.status).toBe(200);
    expect((explain.body as PriceExplanation).rate).toMatchObject({
      tier: 'group',
      tier_id: 'agents_south',
      bps: 9_700,
    });
    const inForce = (await t.admin('GET', '/admin/v1/rates?card_type=jd_ecard')).body as RateSheetList;
    expect(inForce.data.map((s) => s.tier).sort()).toEqual(['channel', 'default', 'group']);
  });

  it("a channel's commission comes out of the margin, and face = seller + commission + margin", async () => {
    const partner = await t.createChannel({ name: 'Partner' });
    await addSheet({
      tier: 'channel',
      tier_id: partner.id,
      card_type: 'sinopec_fuel',
      kind: 'commission',
      ranges: [{ face_min: 10_000, face_max: 100_000, bps: 2_500 }],
    });
    const q = (await quote('sinopec_fuel', 10_000, partner.client)).body;
    // 100.00 at 94 %: 94.00 to the seller, 6.00 margin, a quarter of it (1.50) to the channel.
    expect(q).toMatchObject({ rate_bps: 9_400, seller_amount: 9_400, commission_amount: 150 });
    const e = (await t.admin('GET', `/admin/v1/prices/${q.quote_id}`)).body as PriceExplanation;
    expect(e).toMatchObject({ commission_bps: 2_500, margin_amount: 450 });
    expect(e.commission).toMatchObject({ tier: 'channel', tier_id: partner.id, bps: 2_500 });
  });

  it('admin changes are validated and refused ones write nothing', async () => {
    const refused = (body: unknown, status: number, code: string, field: string) =>
      expectRefusal(t, () => addSheet(body as Record<string, unknown>), { status, code, field });
    const base = { tier: 'default', card_type: 'cmcc_national' };
    await refused(
      { ...base, ranges: [{ face_min: 1_000, face_max: 2_000, bps: -1 }] },
      400,
      'invalid_request',
      'ranges.0.bps',
    );
    await refused(
      { ...base, ranges: [{ face_min: 1_000, face_max: 2_000, bps: 10_001 }] },
      400,
      'invalid_request',
      'ranges.0.bps',
    );
    await refused(
      {
        ...base,
        ranges: [
          { face_min: 1_000, face_max: 5_000, bps: 9_000 },
          { face_min: 5_000, face_max: 10_000, bps: 9_100 },
        ],
      },
      400,
      'rate_ranges_overlap',
      'ranges.1.face_min',
    );
    await refused(
      { ...base, ranges: [{ face_min: 1_500, face_max: 1_900, bps: 9_000 }] },
      400,
      'unsupported_face_value',
      'ranges.0.face_min',
    );
    await refused(
      { ...base, ranges: [{ face_min: 5_000, face_max: 1_000, bps: 9_000 }] },
      400,
      'invalid_request',
      'ranges.0.face_max',
    );
    await refused(
      { ...base, tier: 'channel', tier_id: 'ch_nobody', ranges: [] },
      400,
      'unknown_reference',
      'tier_id',
    );
    await refused(
      { ...base, tier: 'group', tier_id: 'nobody', ranges: [] },
      400,
      'unknown_reference',
      'tier_id',
    );
    await refused({ ...base, tier: 'group', ranges: [] }, 400, 'invalid_request', 'tier_id');
    await refused({ ...base, tier_id: 'x', ranges: [] }, 400, 'invalid_request', 'tier_id');
    await refused({ ...base, card_type: 'no_such_card', ranges: [] }, 400, 'unknown_reference', 'card_type');
    await refused(
      { ...base, effective_from: '2020-01-01T00:00:00Z', ranges: [] },
      400,
      'effective_from_too_soon',
      'effective_from',
    );
    await expectRefusal(t, () => t.admin('POST', '/admin/v1/rates', { ...base, ranges: [] }, 'wrong-token'), {
      status: 401,
      code: 'admin_token_invalid',
    });
  });

  it('history is kept: every version is listed, and any past moment shows the sheet then in force', async () => {
    const before = new Date(clock.now()).toISOString();
    const future = new Date(clock.now() + 3_600_000).toISOString();
    const later = await addSheet({
      tier: 'default',
      card_type: 'telecom_national',
      effective_from: future,
      ranges: [{ face_min: 5_000, face_max: 10_000, bps: 9_300 }],
    });
    expect(later.status).toBe(201);
    expect((await quote('telecom_national', 5_000)).body.rate_bps).toBe(9_500); // not yet
    const at = (when: string) =>
      t.admin('GET', `/admin/v1/rates?card_type=telecom_national&at=${encodeURIComponent(when)}`);
    expect(((await at(before)).body as RateSheetList).data[0]?.ranges[0]?.bps).toBe(9_500);
    expect(((await at(future)).body as RateSheetList).data[0]?.ranges[0]?.bps).toBe(9_300);
    const all = (await t.admin('GET', '/admin/v1/rates?card_type=telecom_national&history=true'))
      .body as RateSheetList;
    expect(all.data.map((s) => s.ranges[0]?.bps)).toEqual([9_500, 9_300]);
  });

  it('lowers a rate automatically when the issuer fails, within the bounds, records why, and can be switched off', async () => {
    const policy = {
      enabled: true,
      window_s: 600,
      min_orders: 4,
      failure_rate_bps: 5_000,
      review_rate_bps: 5_000,
      step_bps: 300,
      floor_bps: 9_350,
      ceiling_bps: 10_000,
    };
    const put = await t.admin('PUT', '/admin/v1/rate-adjustments/cmcc_zhejiang', policy);
    expect(put.status).toBe(200);
    expect((put.body as AdjustmentView).current).toBeNull(); // no outcomes yet: nothing to judge

    // Four Zhejiang (China Mobile) cards verified: three failed.
    const db = t.ctx.storage.db;
    for (let i = 0; i < 4; i++) {
      const o = await submit(
        mobileOrder({
          card_type: 'cmcc_zhejiang',
          card_number: `9${String(i).padStart(9, '0')}`,
          card_secret: '12345678',
        }),
      );
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        await t.ctx.orders.change(trx, o.body.id, {
          event: 'start_verification',
          from: 'submitted',
          nowMs: now,
        });
        await t.ctx.orders.change(trx, o.body.id, {
          event: i < 3 ? 'give_up' : 'redeem',
          from: 'verifying',
          nowMs: now,
        });
      });
    }
    const changes = await t.ctx.pricingAdmin.adjustAll();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ card_type: 'cmcc_zhejiang', adjustment_bps: 300, outcomes_failed: 3 });
    expect(changes[0]?.reason).toMatch(/failure rate 75\.0% ≥ 50\.0%/);
    expect(await t.ctx.pricingAdmin.adjustAll()).toEqual([]); // unchanged signals change nothing

    // 95 % − 3 % = 92 %, held at the 93.5 % floor.
    const lowered = (await quote('cmcc_zhejiang', 10_000)).body;
    expect(lowered.rate_bps).toBe(9_350);
    const e = (await t.admin('GET', `/admin/v1/prices/${lowered.quote_id}`)).body as PriceExplanation;
    expect(e).toMatchObject({ table_rate_bps: 9_500, rate_bps: 9_350 });
    expect(e.adjustment?.reason).toMatch(/failure rate/);
    expect((await quote('cmcc_national', 10_000)).body.rate_bps).toBe(9_600); // other card types unaffected

    const off = await t.admin('PUT', '/admin/v1/rate-adjustments/cmcc_zhejiang', {
      ...policy,
      enabled: false,
    });
    const view = off.body as AdjustmentView;
    expect(view.current).toMatchObject({ adjustment_bps: 0, reason: 'automatic adjustment switched off' });
    expect(view.history.map((h) => h.adjustment_bps)).toEqual([0, 300]);
    expect((await quote('cmcc_zhejiang', 10_000)).body.rate_bps).toBe(9_500);

    await expectRefusal(
      t,
      () =>
        t.admin('PUT', '/admin/v1/rate-adjustments/cmcc_zhejiang', {
          ...policy,
          floor_bps: 9_900,
          ceiling_bps: 9_000,
        }),
      { status: 400, code: 'invalid_request', field: 'floor_bps' },
    );
  });

  it('prunes quotes long expired that no order was settled by, and keeps the ones that explain an order', async () => {
    const unused = (await quote('cmcc_national', 2_000)).body.quote_id;
    const used = (await quote('cmcc_national', 2_000)).body.quote_id;
    expect((await submit(mobileOrder({ declared_face_value: 2_000, quote_id: used }))).status).toBe(201);
    const db = t.ctx.storage.db;
    const inUse = (ids: string[]) => t.ctx.orders.quotesInUse(db, ids);
    await pruneQuotes(db, clock.now(), 1_000, inUse); // these two have not expired: kept
    expect((await t.admin('GET', `/admin/v1/prices/${unused}`)).status).toBe(200);
    const { removed } = await pruneQuotes(db, clock.now() + 2 * QUOTE_TTL_S * 1000, 1_000, inUse);
    expect(removed).toBeGreaterThanOrEqual(1);
    expect((await t.admin('GET', `/admin/v1/prices/${unused}`)).status).toBe(404);
    expect((await t.admin('GET', `/admin/v1/prices/${used}`)).status).toBe(200);
  });
});
