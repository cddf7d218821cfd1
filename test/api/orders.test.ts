import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderList, OrderView } from '../../src/modules/orders/model.js';
import { rawCall } from '../harness/http.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

type Err = { error: { code: string; field?: string; message: string } };

describe.each(storageTargets())('order intake on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let other: Awaited<ReturnType<TestServer['createChannel']>>;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    ch = await t.createChannel({ name: 'Shop A' });
    other = await t.createChannel({ name: 'Shop B' });
  });
  afterAll(() => t.stop());

  const submit = (body: unknown, client = ch.client) => client.post<OrderView & Err>('/v1/orders', body);

  const refused = (body: unknown, status: number, code: string, field?: string) =>
    expectRefusal(t, () => submit(body), { status, code, ...(field ? { field } : {}), nonceSpent: true });

  it('takes a card in: 201 with the order, masked number, no secret; order, event and verify job written together', async () => {
    const body = mobileOrder({
      card_number: '1234 5678-9012 3456 7',
      attach: 'batch-7',
      client_ip: '203.0.113.9',
    });
    const res = await submit(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      merchant_order_id: body.merchant_order_id,
      status: 'submitted',
      card_type: 'cmcc_national',
      card_number_masked: '*************4567',
      declared_face_value: 10_000,
      currency: 'CNY',
      seller: { id: 'seller-1', name: 'Li Lei' },
      attach: 'batch-7',
    });
    expect(res.body.id).toMatch(/^ord_[0-9a-z]{26}$/);
    expect(JSON.stringify(res.body)).not.toContain(body.card_secret);
    const db = t.ctx.storage.db;
    const events = await db
      .selectFrom('order_events')
      .selectAll()
      .where('order_id', '=', res.body.id)
      .execute();
    expect(events.map((e) => [e.event, e.from_status, e.to_status])).toEqual([['submit', null, 'submitted']]);
    const job = await db
      .selectFrom('jobs')
      .selectAll()
      .where('kind', '=', 'orders.verify')
      .where('payload', 'like', `%${res.body.id}%`)
      .execute();
    expect(job).toHaveLength(1);
    expect(await t.ctx.orders.revealCard(res.body.id)).toEqual({
      number: '12345678901234567',
      secret: body.card_secret,
    });
  });

  it('a repeated merchant_order_id with the same body returns the first order with 200; another body is 409', async () => {
    const body = mobileOrder();
    const first = await submit(body);
    const again = await submit(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    await refused({ ...body, declared_face_value: 5000 }, 409, 'idempotency_conflict', 'merchant_order_id');
    // The same merchant_order_id is another channel's own business.
    expect((await submit(body, other.client)).status).toBe(409); // same card though: held
  });

  it('ten concurrent identical submissions create exactly one order', async () => {
    const body = mobileOrder();
    const before = (await t.counts()).orders ?? 0;
    const answers = await Promise.all(Array.from({ length: 10 }, () => submit(body)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await t.counts()).orders).toBe(before + 1);
  });

  it('ten concurrent submissions of one card under different ids create exactly one order', async () => {
    const body = mobileOrder();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        submit({ ...body, merchant_order_id: `${body.merchant_order_id}-${i}` }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(
      answers.filter((a) => a.status === 409).every((a) => a.body.error.code === 'card_already_submitted'),
    ).toBe(true);
  });

  it('a card held by an order anywhere is refused, without saying by whom', async () => {
    const body = mobileOrder();
    expect((await submit(body)).status).toBe(201);
    const res = await refused(
      { ...body, merchant_order_id: 'other-id', card_number: body.card_number.replace(/(\d{4})/g, '$1 ') },
      409,
      'card_already_submitted',
      'card_number',
    );
    const viaOther = await submit({ ...body, merchant_order_id: 'b-1' }, other.client);
    expect(viaOther.status).toBe(409);
    expect(JSON.stringify(res.body) + JSON.stringify(viaOther.body)).not.toMatch(/ch_|Shop/);
  });

  it('a card whose order failed or was refused may be handed in again', async () => {
    const body = mobileOrder();
    const first = await submit(body);
    const db = t.ctx.storage.db;
    await db.transaction().execute(async (trx) => {
      const change = t.ctx.orders.change;
      expect(
        (
          await change(trx, first.body.id, {
            event: 'start_verification',
            from: 'submitted',
            nowMs: Date.now(),
          })
        ).ok,
      ).toBe(true);
      const refused = await change(trx, first.body.id, {
        event: 'issuer_refused',
        from: 'verifying',
        facts: { reason: 'card_used' },
        nowMs: Date.now(),
      });
      expect(refused.ok).toBe(true);
    });
    expect((await submit({ ...body, merchant_order_id: `${body.merchant_order_id}-retry` })).status).toBe(
      201,
    );
  });

  it('lifecycle steps write one event each; a step not in the table is refused and writes nothing', async () => {
    const { body } = await submit(mobileOrder());
    const db = t.ctx.storage.db;
    const before = await t.counts();
    const change = (c: Parameters<typeof t.ctx.orders.change>[2]) =>
      db.transaction().execute((trx) => t.ctx.orders.change(trx, body.id, c));
    const refusedStep = await change({ event: 'pay', from: 'submitted', nowMs: Date.now() });
    expect(refusedStep.ok).toBe(false);
    expect(await t.counts()).toEqual(before);
    const frozen = await change({
      event: 'freeze',
      from: 'submitted',
      reason: 'velocity',
      nowMs: Date.now(),
    });
    expect(frozen.ok).toBe(true);
    const events = await db
      .selectFrom('order_events')
      .select(['event', 'from_status', 'to_status', 'reason'])
      .where('order_id', '=', body.id)
      .orderBy('id')
      .execute();
    expect(events).toEqual([
      { event: 'submit', from_status: null, to_status: 'submitted', reason: null },
      { event: 'freeze', from_status: 'submitted', to_status: 'frozen', reason: 'velocity' },
    ]);
    expect((await ch.client.get<OrderView>(`/v1/orders/${body.id}`)).body.status).toBe('frozen');
  });

  it.each([
    ['an unknown card type', { card_type: 'no_such_card' }, 400, 'unsupported_card_type', 'card_type'],
    ['a number of the wrong format', { card_number: '1234' }, 400, 'invalid_card_number', 'card_number'],
    ['a secret of the wrong format', { card_secret: '12345' }, 400, 'invalid_card_secret', 'card_secret'],
    [
      'a face value the type does not accept',
      { declared_face_value: 4_200 },
      400,
      'unsupported_face_value',
      'declared_face_value',
    ],
    [
      'a face value sent as a string',
      { declared_face_value: '10000' },
      400,
      'invalid_request',
      'declared_face_value',
    ],
    ['an attach over 256 characters', { attach: 'x'.repeat(257) }, 400, 'invalid_request', 'attach'],
    [
      'a seller name over 100 characters',
      { seller: { id: 's', name: 'x'.repeat(101) } },
      400,
      'invalid_request',
      'seller.name',
    ],
    [
      'a merchant_order_id over 64 characters',
      { merchant_order_id: 'm'.repeat(65) },
      400,
      'invalid_request',
      'merchant_order_id',
    ],
    ['a malformed client_ip', { client_ip: '999.1.1.1' }, 400, 'invalid_request', 'client_ip'],
    ['an unknown field', { card_pin: '1' }, 400, 'invalid_request', 'card_pin'],
  ])('refuses %s', async (_label, change, status, code, field) => {
    await refused({ ...mobileOrder(), ...change }, status, code, field);
  });

  it.each(['merchant_order_id', 'card_type', 'card_number', 'card_secret', 'declared_face_value', 'seller'])(
    'refuses a submission without %s',
    async (missing) => {
      const body: Record<string, unknown> = { ...mobileOrder() };
      delete body[missing];
      await refused(body, 400, 'invalid_request', missing);
    },
  );

  it('refuses a wrong check digit, and a disabled card type', async () => {
    await refused(
      {
        ...mobileOrder(),
        card_type: 'supermarket_gift',
        card_number: '6214830012345678901',
        card_secret: '123456',
        declared_face_value: 10_000,
      },
      400,
      'invalid_card_number',
      'card_number',
    );
    await t.admin('PATCH', '/admin/v1/card-types/cmcc_liaoning', { enabled: false });
    await refused(
      {
        ...mobileOrder(),
        card_type: 'cmcc_liaoning',
        card_number: '1234567890123456',
        card_secret: '123456789012345678901',
      },
      400,
      'unsupported_card_type',
      'card_type',
    );
  });

  it('a card type changed after intake does not change the order', async () => {
    const body = mobileOrder({
      card_type: 'unicom_national',
      card_number: '123456789012345',
      card_secret: '1234567890123456789',
      declared_face_value: 5_000,
    });
    const { body: order } = await submit(body);
    await t.admin('PATCH', '/admin/v1/card-types/unicom_national', {
      face_values: [10_000],
      currency: 'USD',
    });
    const after = await ch.client.get<OrderView>(`/v1/orders/${order.id}`);
    expect(after.body).toEqual(order);
  });

  it("reads one order; another channel's order is not found", async () => {
    const { body: order } = await submit(mobileOrder());
    expect((await ch.client.get<OrderView>(`/v1/orders/${order.id}`)).body).toEqual(order);
    const peek = await other.client.get<Err>(`/v1/orders/${order.id}`);
    expect(peek.status).toBe(404);
    expect(peek.body.error.code).toBe('resource_not_found');
    expect((await ch.client.get<Err>('/v1/orders/ord_bad')).status).toBe(400);
  });

  it('lists with filters and cursor pagination, newest first, own orders only', async () => {
    const lister = await t.createChannel({ name: 'Lister' });
    const made: OrderView[] = [];
    for (let i = 0; i < 5; i++) made.push((await submit(mobileOrder(), lister.client)).body);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page: { body: OrderList } = await lister.client.get<OrderList>(`/v1/orders?limit=2${q}`);
      seen.push(...page.body.data.map((o) => o.id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(made.map((o) => o.id).reverse());

    const target = made[2] as OrderView;
    const byMoid = await lister.client.get<OrderList>(
      `/v1/orders?merchant_order_id=${encodeURIComponent(target.merchant_order_id)}`,
    );
    expect(byMoid.body.data.map((o) => o.id)).toEqual([target.id]);
    expect((await lister.client.get<OrderList>('/v1/orders?status=verifying')).body.data).toEqual([]);
    expect(
      (await lister.client.get<OrderList>('/v1/orders?card_type=cmcc_national&status=submitted')).body.data,
    ).toHaveLength(5);
    const from = encodeURIComponent(target.created_at);
    const ranged = await lister.client.get<OrderList>(`/v1/orders?created_from=${from}`);
    expect(ranged.body.data.every((o) => o.created_at >= target.created_at)).toBe(true);
    expect(
      (
        await lister.client.get<OrderList>(
          `/v1/orders?created_to=${encodeURIComponent(made[0]?.created_at ?? '')}`,
        )
      ).body.data,
    ).toEqual([]);
    expect((await lister.client.get<Err>('/v1/orders?status=lost')).body.error.field).toBe('query.status');
    expect((await lister.client.get<Err>('/v1/orders?limit=1000')).body.error.field).toBe('query.limit');
  });

  it('stores neither the card number nor the secret in clear', async () => {
    const body = mobileOrder();
    await submit(body);
    const rows = await sql<Record<string, unknown>>`select * from orders`.execute(t.ctx.storage.db);
    const dump = JSON.stringify(rows.rows);
    expect(dump).not.toContain(body.card_number);
    expect(dump).not.toContain(body.card_secret);
  });

  it('a signature over another body cannot submit a card', async () => {
    const body = JSON.stringify(mobileOrder());
    const res = await rawCall(t.url, {
      channelId: ch.id,
      secret: ch.secret,
      method: 'POST',
      path: '/v1/orders',
      body,
      signed: { body: body.replace('seller-1', 'seller-2') },
    });
    expect(res.status).toBe(401);
  });
});
