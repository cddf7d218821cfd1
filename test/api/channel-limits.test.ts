import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import type { ChannelView, NewChannel } from '../../src/modules/channels/index.js';
import type { OrderView } from '../../src/modules/orders/model.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

type Err = { error: { code: string; field?: string; message: string } };

const TRC20 = 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE';

describe.each(storageTargets())('channel policy and limits on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false, config: { pricingRefreshMs: 0 } });
  });
  afterAll(() => t.stop());

  /** A channel as `recard channels create` makes it: the kind's defaults, not the harness's open ones. */
  // The kind's limits with HMAC auth: its own schemes are the subject of test/security/.
  async function channelOfKind(input: NewChannel) {
    const made = await t.ctx.channels.create({
      ...input,
      auth: { schemes: ['HMAC-SHA256'], require_token: false, ...input.auth },
    });
    if (!made.ok) throw new Error(made.message);
    const { channel, secret } = made.value;
    return { channel, client: new RecardClient({ baseUrl: t.url, channelId: channel.id, secret }) };
  }
  const submit = (client: RecardClient, body: unknown) => client.post<OrderView & Err>('/v1/orders', body);
  const patch = (id: string, body: unknown) => t.admin('PATCH', `/admin/v1/channels/${id}`, body);

  it('a new channel takes its kind’s defaults: limits, required fields, settlement cycle and currency', async () => {
    const views = await Promise.all(
      (['ecommerce', 'merchant', 'crypto', 'h5'] as const).map(
        async (kind) => (await channelOfKind({ name: kind, kind })).channel,
      ),
    );
    const [ecommerce, merchant, crypto, h5] = views as [ChannelView, ChannelView, ChannelView, ChannelView];
    const open = { daily_amount_cap: null, daily_order_cap: null, rate_per_second: null, rate_burst: null };
    expect(ecommerce.limits).toEqual({
      ...open,
      currency: 'CNY',
      per_order_min: 1_000,
      per_order_max: 500_000,
      ip_allowlist: [],
      required_fields: ['platform_order_id'],
    });
    expect(ecommerce.settlement.cycle).toBe('T1');
    expect(merchant.limits).toMatchObject({
      currency: 'CNY',
      per_order_min: 10_000,
      per_order_max: 1_000_000,
    });
    expect(merchant.limits.required_fields).toEqual([]);
    expect(merchant.settlement.cycle).toBe('T3');
    expect(crypto.limits).toMatchObject({
      currency: 'USDT',
      per_order_min: 5_000_000,
      per_order_max: 500_000_000,
      required_fields: ['blockchain_address'],
    });
    expect([crypto.settlement.cycle, crypto.settlement_currency]).toEqual(['T0', 'USDT']);
    expect(h5.limits).toMatchObject({ currency: 'CNY', per_order_min: null, per_order_max: null });
    expect(h5.settlement.cycle).toBe('T0');
    // Shown the same through the API.
    const listed = (await t.admin('GET', '/admin/v1/channels')).body as { data: ChannelView[] };
    expect(listed.data.find((c) => c.id === crypto.id)?.limits).toEqual(crypto.limits);
  });

  it('an admin changes limits with PATCH; a bad CIDR or min above max is refused naming the field', async () => {
    const { channel } = await channelOfKind({ name: 'patched', kind: 'merchant' });
    const res = await patch(channel.id, {
      limits: { per_order_max: 20_000, daily_order_cap: 5, ip_allowlist: ['10.1.2.3', '2001:db8::/32'] },
    });
    expect(res.status).toBe(200);
    expect((res.body as unknown as ChannelView).limits).toMatchObject({
      per_order_min: 10_000,
      per_order_max: 20_000,
      daily_order_cap: 5,
      ip_allowlist: ['10.1.2.3/32', '2001:db8::/32'],
    });
    const bad = await patch(channel.id, { limits: { ip_allowlist: ['10.0.0.0/8', 'not-an-ip'] } });
    expect([bad.status, bad.body.error?.code, bad.body.error?.field]).toEqual([
      400,
      'invalid_request',
      'limits.ip_allowlist.1',
    ]);
    const inverted = await patch(channel.id, { limits: { per_order_min: 30_000 } });
    expect([inverted.status, inverted.body.error?.field]).toEqual([400, 'limits.per_order_min']);
    expect((await t.ctx.channels.get(channel.id))?.limits.per_order_min).toBe(10_000);
  });

  it('an ecommerce channel refuses an order without platform_order_id (400, field named); with it the order shows it', async () => {
    const { client } = await channelOfKind({ name: 'shop', kind: 'ecommerce' });
    await expectRefusal(t, () => submit(client, mobileOrder()), {
      status: 400,
      code: 'invalid_request',
      field: 'platform_order_id',
      nonceSpent: true,
    });
    const ok = await submit(client, mobileOrder({ platform_order_id: 'TB-20261201-0042' }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body).toMatchObject({
      platform_order_id: 'TB-20261201-0042',
      store_terminal_id: null,
      blockchain_address: null,
    });
    expect((await client.get<OrderView>(`/v1/orders/${ok.body.id}`)).body.platform_order_id).toBe(
      'TB-20261201-0042',
    );
  });

  it('a merchant channel accepts store_terminal_id without requiring it', async () => {
    const { client } = await channelOfKind({ name: 'store', kind: 'merchant' });
    expect((await submit(client, mobileOrder())).status).toBe(201);
    const res = await submit(client, mobileOrder({ store_terminal_id: 'pos-7' }));
    expect([res.status, res.body.store_terminal_id]).toEqual([201, 'pos-7']);
  });

  it('per-order limits: outside them is 422 amount_out_of_range naming the field, before anything is written', async () => {
    const { channel, client } = await channelOfKind({ name: 'store-limits', kind: 'merchant' });
    // ¥100 is the merchant minimum: a ¥50 card is refused, a ¥100 one taken.
    const small = await expectRefusal(t, () => submit(client, mobileOrder({ declared_face_value: 5_000 })), {
      status: 422,
      code: 'amount_out_of_range',
      field: 'declared_face_value',
      nonceSpent: true,
    });
    expect(small.body.error.message).toContain('10000 to 1000000 CNY');
    expect((await submit(client, mobileOrder({ declared_face_value: 10_000 }))).status).toBe(201);
    expect((await patch(channel.id, { limits: { per_order_min: null, per_order_max: 5_000 } })).status).toBe(
      200,
    );
    await expectRefusal(t, () => submit(client, mobileOrder({ declared_face_value: 10_000 })), {
      status: 422,
      code: 'amount_out_of_range',
      nonceSpent: true,
    });
    expect((await submit(client, mobileOrder({ declared_face_value: 5_000 }))).status).toBe(201);
  });

  it('a crypto channel limits the USDT it pays (the locked payout amount) and checks the blockchain address', async () => {
    const fx = await t.admin('PUT', '/admin/v1/fx-rates/USDT/CNY', { rate: '7.2' });
    expect(fx.status, JSON.stringify(fx.body)).toBe(200);
    const { channel, client } = await channelOfKind({ name: 'exchange', kind: 'crypto' });
    await expectRefusal(t, () => submit(client, mobileOrder()), {
      status: 400,
      code: 'invalid_request',
      field: 'blockchain_address',
      nonceSpent: true,
    });
    const wrong = await expectRefusal(
      t,
      () => submit(client, mobileOrder({ blockchain_address: 'T-not-an-address' })),
      { status: 400, code: 'invalid_request', field: 'blockchain_address', nonceSpent: true },
    );
    expect(wrong.body.error.message).toMatch(/TRC20|ERC20/);
    // ¥100 at 96 % = ¥96 = 13.333333 USDT: within $5–$500.
    const ok = await submit(client, mobileOrder({ blockchain_address: TRC20 }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.price?.payout_amount).toBe(13_333_333);
    expect(ok.body.blockchain_address).toBe(TRC20);
    const erc = await submit(
      client,
      mobileOrder({ blockchain_address: `0x${'a1'.repeat(20)}`, declared_face_value: 5_000 }),
    );
    expect(erc.status).toBe(201);
    // A maximum of 10 USDT refuses the 13.33 USDT payout although the card's ¥100 is "less".
    await patch(channel.id, { limits: { per_order_max: 10_000_000 } });
    const over = await expectRefusal(t, () => submit(client, mobileOrder({ blockchain_address: TRC20 })), {
      status: 422,
      code: 'amount_out_of_range',
      field: 'declared_face_value',
      nonceSpent: true,
    });
    expect(over.body.error.message).toContain('13333333 USDT');
  });

  it('a daily order cap holds under 50 concurrent submits; the refused get 429 with the reset; duplicates do not count', async () => {
    const { channel, client } = await channelOfKind({
      name: 'capped',
      kind: 'h5',
      limits: { daily_order_cap: 10 },
    });
    const first = mobileOrder();
    expect((await submit(client, first)).status).toBe(201);
    // The same order again (200) and the same card under another id (409) are not new orders.
    expect((await submit(client, first)).status).toBe(200);
    expect((await submit(client, { ...first, merchant_order_id: 'dup-of-first' })).status).toBe(409);
    const results = await Promise.all(Array.from({ length: 50 }, () => submit(client, mobileOrder())));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(9);
    expect(statuses.filter((s) => s === 429)).toHaveLength(41);
    const refused = results.find((r) => r.status === 429);
    expect(refused?.body.error.code).toBe('daily_limit_reached');
    const retryAfter = Number(refused?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    // The reset is the next business day's start in the channel's zone (Asia/Shanghai, cut-off 00:00).
    const reset = /reset at (\S+)\./.exec(refused?.body.error.message ?? '')?.[1] ?? '';
    expect(reset).toMatch(/T16:00:00\.000Z$/);
    expect(Math.abs(Date.parse(reset) - Date.now() - retryAfter * 1000)).toBeLessThan(2_000);
    const orders = await t.ctx.storage.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('channel_id', '=', channel.id)
      .executeTakeFirstOrThrow();
    expect(Number(orders.n)).toBe(10);
    expect(
      await t.ctx.storage.db
        .selectFrom('channel_daily_usage')
        .select(['orders'])
        .where('channel_id', '=', channel.id)
        .execute(),
    ).toEqual([{ orders: 10 }]);
  });

  it('a daily amount cap counts the amounts of orders taken and refuses the one that would pass it', async () => {
    const { channel, client } = await channelOfKind({
      name: 'amount-capped',
      kind: 'h5',
      limits: { daily_amount_cap: 25_000 },
    });
    expect((await submit(client, mobileOrder())).status).toBe(201); // 10,000
    const results = await Promise.all(Array.from({ length: 20 }, () => submit(client, mobileOrder())));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1); // 20,000; a third would be 30,000
    expect(results.filter((r) => r.body.error?.code === 'daily_limit_reached')).toHaveLength(19);
    // A smaller one still fits.
    expect((await submit(client, mobileOrder({ declared_face_value: 5_000 }))).status).toBe(201);
    const usage = await t.ctx.storage.db
      .selectFrom('channel_daily_usage')
      .select(['orders', 'amount'])
      .where('channel_id', '=', channel.id)
      .executeTakeFirstOrThrow();
    expect([Number(usage.orders), Number(usage.amount)]).toEqual([3, 25_000]);
  });

  it('an IP allowlist refuses a proven call from elsewhere with 403 ip_not_allowed, writing nothing but its nonce; an allowed address passes', async () => {
    const { channel, client } = await channelOfKind({
      name: 'fenced',
      kind: 'h5',
      limits: { ip_allowlist: ['203.0.113.0/24'] },
    });
    // Nothing but the nonce: a call captured from a refused address cannot be replayed from another.
    await expectRefusal(t, () => submit(client, mobileOrder()), {
      status: 403,
      code: 'ip_not_allowed',
      nonceSpent: true,
    });
    await expectRefusal(t, () => client.get('/v1/channel'), {
      status: 403,
      code: 'ip_not_allowed',
      nonceSpent: true,
    });
    // A bad signature is still 401: the address is judged only once the caller is proven.
    const forged = new RecardClient({ baseUrl: t.url, channelId: channel.id, secret: 'sk_wrong' });
    expect((await forged.get<Err>('/v1/channel')).body.error.code).toBe('signature_invalid');
    await patch(channel.id, { limits: { ip_allowlist: ['203.0.113.0/24', '127.0.0.0/8', '::1'] } });
    // Another process would see the change within the credentials cache's TTL; this one at once.
    expect((await submit(client, mobileOrder())).status).toBe(201);
  });
});
