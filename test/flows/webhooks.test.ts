import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import type { DeliveryView, EndpointView } from '../../src/modules/webhooks/index.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { exhaustVerifyAttempts } from '../harness/verify-jobs.js';
import { waitFor } from '../harness/wait.js';
import { startWebhookReceiver } from '../harness/webhook-receiver.js';

interface EventBody {
  id: string;
  type: string;
  sequence: number;
  data: { order: OrderView; previous_status: string };
}

/** Callbacks end to end: a merchant's receiver built from docs/webhooks.md and `standardwebhooks`. */
describe.each(storageTargets())('order callbacks on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let serial = 0;
  const take = cardTaker(() => sims);
  const submit = (card: SimCard, extra: Record<string, unknown> = {}, client = ch.client) =>
    submitCard(client, card, `wh-${++serial}`, { attach: `basket-${serial}`, ...extra });
  const refused = (
    call: () => Promise<{ status: number; headers: Headers; body: unknown }>,
    status: number,
    code: string,
    field?: string,
  ) => expectRefusal(t, call, { status, code, ...(field === undefined ? {} : { field }), nonceSpent: true });
  /** Nothing left to deliver: the counts of later tests are not moved by earlier ones. */
  const quiet = () =>
    waitFor(
      async () =>
        (
          await t.ctx.storage.db
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('status', '=', 'pending')
            .execute()
        ).length === 0 || undefined,
      10_000,
      'deliveries to finish',
    );
  const deliveriesOf = (eventId: string, client = ch.client) =>
    client.get<{ data: DeliveryView[] }>(`/v1/webhook-deliveries?event_id=${eventId}`);

  beforeAll(async () => {
    sims = await startSimulators({ seed: `webhooks-${target.name}`, perLabel: { valid: 20 } });
    t = await startTestServer(target);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Shop' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it("redeemed, invalid and review orders reach the endpoint and the order's callback_url, verified, echoing attach, one success each", async () => {
    const endpoint = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    const perOrder = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    try {
      const made = await ch.client.post<EndpointView>('/v1/webhook-endpoints', {
        url: endpoint.url,
        event_types: ['*'],
        description: 'all events',
      });
      expect(made.status).toBe(201);
      expect(made.body).toMatchObject({ url: endpoint.url, enabled: true, event_types: ['*'] });

      const redeemed = await submit(take('cmcc_national', 'valid'), { callback_url: perOrder.url });
      const invalid = await submit(take('telecom_guangdong', 'used'), { callback_url: perOrder.url });
      // The channel's face-value policy is review: a card worth another value waits for a person.
      const review = await submit(take('cmcc_national', 'wrong_face_value'), { callback_url: perOrder.url });
      await settledOrder(ch.client, redeemed, 'redeemed');
      await settledOrder(ch.client, invalid, 'invalid');
      await settledOrder(ch.client, review, 'review');
      // Four events: the redeemed card is also booked (order.settled follows order.redeemed).
      const bodies = (r: typeof endpoint) =>
        waitFor(
          async () => (r.got.length >= 4 ? r.got.map((g) => JSON.parse(g.body) as EventBody) : undefined),
          10_000,
          'four callbacks',
        );
      for (const receiver of [endpoint, perOrder]) {
        const all = await bodies(receiver);
        expect(receiver.got.every((g) => g.verifiedBy.includes(0))).toBe(true);
        expect(all.filter((b) => b.type === 'order.settled').map((b) => b.data.order.id)).toEqual([redeemed]);
        const got = all.filter((b) => b.type !== 'order.settled');
        const byOrder = new Map(got.map((b) => [b.data.order.id, b]));
        expect(byOrder.get(redeemed)).toMatchObject({
          type: 'order.redeemed',
          data: { order: { status: 'redeemed', attach: expect.stringMatching(/^basket-/) } },
        });
        expect(byOrder.get(review)).toMatchObject({
          type: 'order.review',
          data: { order: { status: 'review', reason: 'face_value_mismatch' } },
        });
        expect(byOrder.get(invalid)).toMatchObject({
          type: 'order.invalid',
          data: { order: { status: 'invalid' } },
        });
        // webhook-id is the event id: a merchant dedupes on it.
        for (const g of receiver.got)
          expect(g.headers['webhook-id']).toBe((JSON.parse(g.body) as EventBody).id);
      }
      const event = JSON.parse(endpoint.got[0]?.body ?? '{}') as EventBody;
      const log = await waitFor(
        async () => {
          const r = await deliveriesOf(event.id);
          return r.body.data.length === 2 && r.body.data.every((d) => d.status === 'succeeded')
            ? r.body.data
            : undefined;
        },
        5000,
        'deliveries recorded',
      );
      for (const d of log) {
        expect(d.attempts).toBe(1);
        expect(d.attempt_log).toHaveLength(1);
        expect(d.attempt_log[0]).toMatchObject({
          attempt: 1,
          status_code: 200,
          error_code: null,
          response_head: 'ok',
        });
        expect(d.attempt_log[0]?.latency_ms).toBeGreaterThanOrEqual(0);
      }
      expect(log.map((d) => d.endpoint_id).sort()).toEqual([made.body.id, null].sort());
    } finally {
      await endpoint.close();
      await perOrder.close();
      await quiet();
      await t.ctx.storage.db.deleteFrom('webhook_endpoints').execute();
    }
  });

  it('an order that fails (the issuer never answered) reaches its callback_url as order.failed, verified', async () => {
    const perOrder = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    const sim = sims.byIssuer.get('sinopec');
    sim?.setFaults({ errorRate: 1 });
    try {
      const id = await submit(take('sinopec_fuel', 'valid'), { callback_url: perOrder.url });
      // The verify job's backoff is seconds to minutes: its remaining attempts are run at once.
      await exhaustVerifyAttempts(t.ctx.storage.db, id);
      t.ctx.wakeWorker();
      await settledOrder(ch.client, id, 'failed');
      await waitFor(async () => perOrder.got.length >= 1 || undefined, 10_000, 'the failed callback');
      const body = JSON.parse(perOrder.got[0]?.body ?? '{}') as EventBody;
      expect(body).toMatchObject({
        type: 'order.failed',
        data: {
          order: {
            id,
            status: 'failed',
            reason: 'issuer_unavailable',
            attach: expect.stringMatching(/^basket-/),
          },
        },
      });
      expect(perOrder.got[0]?.verifiedBy).toEqual([0]);
      await quiet();
    } finally {
      sim?.setFaults(NO_FAULTS);
      await perOrder.close();
    }
  });

  it('an endpoint gets only the types it asked for; a disabled one gets nothing', async () => {
    const onlyInvalid = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    const disabled = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    try {
      await ch.client.post('/v1/webhook-endpoints', { url: onlyInvalid.url, event_types: ['order.invalid'] });
      const off = await ch.client.post<EndpointView>('/v1/webhook-endpoints', {
        url: disabled.url,
        event_types: ['*'],
        enabled: false,
      });
      expect(off.body.enabled).toBe(false);
      const ok = await submit(take('cmcc_national', 'valid'));
      const bad = await submit(take('telecom_guangdong', 'used'));
      await settledOrder(ch.client, ok, 'redeemed');
      await settledOrder(ch.client, bad, 'invalid');
      await waitFor(async () => onlyInvalid.got.length >= 1 || undefined, 10_000, 'the invalid callback');
      await new Promise((r) => setTimeout(r, 300));
      expect(onlyInvalid.got.map((g) => (JSON.parse(g.body) as EventBody).data.order.id)).toEqual([bad]);
      expect(disabled.got).toHaveLength(0);
    } finally {
      await onlyInvalid.close();
      await disabled.close();
      await quiet();
      await t.ctx.storage.db.deleteFrom('webhook_endpoints').execute();
    }
  });

  it('a channel manages its endpoints; another channel sees none of them and cannot resend its deliveries', async () => {
    const receiver = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
    const other = await t.createChannel({ name: 'Other shop' });
    try {
      const made = await ch.client.post<EndpointView>('/v1/webhook-endpoints', {
        url: receiver.url,
        event_types: ['order.redeemed'],
      });
      const id = made.body.id;
      expect(
        (await ch.client.get<{ data: EndpointView[] }>('/v1/webhook-endpoints')).body.data.map((e) => e.id),
      ).toEqual([id]);
      expect((await other.client.get<{ data: EndpointView[] }>('/v1/webhook-endpoints')).body.data).toEqual(
        [],
      );
      await refused(() => other.client.get(`/v1/webhook-endpoints/${id}`), 404, 'resource_not_found');
      await refused(
        () => other.client.patch(`/v1/webhook-endpoints/${id}`, { enabled: false }),
        404,
        'resource_not_found',
      );

      const patched = await ch.client.patch<EndpointView>(`/v1/webhook-endpoints/${id}`, {
        event_types: ['order.redeemed', 'order.invalid'],
        description: 'two types',
      });
      expect(patched.body).toMatchObject({
        event_types: ['order.redeemed', 'order.invalid'],
        description: 'two types',
      });

      const order = await submit(take('cmcc_national', 'valid'));
      await settledOrder(ch.client, order, 'redeemed');
      await waitFor(async () => receiver.got.length >= 1 || undefined, 10_000, 'the callback');
      const event = JSON.parse(receiver.got[0]?.body ?? '{}') as EventBody;
      const [delivery] = (await waitFor(
        async () => {
          const r = await deliveriesOf(event.id);
          return r.body.data[0]?.status === 'succeeded' ? r.body.data : undefined;
        },
        5000,
        'the delivery',
      )) as DeliveryView[];

      await refused(
        () => other.client.post(`/v1/webhook-deliveries/${delivery?.id}/resend`, {}),
        404,
        'resource_not_found',
      );
      await refused(() => other.client.post(`/v1/events/${event.id}/resend`, {}), 404, 'resource_not_found');
      await refused(
        () => other.client.get(`/v1/webhook-deliveries/${delivery?.id}`),
        404,
        'resource_not_found',
      );
      expect((await deliveriesOf(event.id, other.client)).body.data).toEqual([]);

      // Resend: a new delivery of the same event, with its own attempts; the first stays as it was.
      const again = await ch.client.post<DeliveryView>(`/v1/webhook-deliveries/${delivery?.id}/resend`, {});
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ resend_of: delivery?.id, event_id: event.id, status: 'pending' });
      await waitFor(async () => receiver.got.length >= 2 || undefined, 10_000, 'the resent callback');
      expect(receiver.got[1]?.headers['webhook-id']).toBe(event.id);
      const byEvent = await ch.client.post<{ data: DeliveryView[] }>(`/v1/events/${event.id}/resend`, {
        endpoint_id: id,
      });
      expect(byEvent.status).toBe(202);
      expect(byEvent.body.data).toHaveLength(1);
      await waitFor(async () => receiver.got.length >= 3 || undefined, 10_000, 'the event resent');

      // Replay of a time range: every event of it that the endpoint takes, once each.
      const since = new Date(Date.now() - 60_000).toISOString();
      const until = new Date(Date.now() + 1000).toISOString();
      const replay = await ch.client.post<{ queued: number }>(`/v1/webhook-endpoints/${id}/replay`, {
        since,
        until,
      });
      expect(replay.status).toBe(202);
      const ownEvents = (
        await ch.client.get<{ data: { type: string; created_at: string }[] }>('/v1/events?limit=500')
      ).body.data.filter(
        (e) => ['order.redeemed', 'order.invalid'].includes(e.type) && e.created_at >= since,
      );
      expect(replay.body.queued).toBe(ownEvents.length);
      await waitFor(
        async () => receiver.got.length >= 3 + ownEvents.length || undefined,
        10_000,
        'the replay',
      );
      await quiet();
      await refused(
        () => ch.client.post(`/v1/webhook-endpoints/${id}/replay`, { since: until, until: since }),
        400,
        'invalid_request',
        'until',
      );

      // The endpoint moves: a resend of an old delivery goes where it points now.
      const moved = await startWebhookReceiver({ secrets: [ch.webhookSecret] });
      try {
        await ch.client.patch(`/v1/webhook-endpoints/${id}`, { url: moved.url });
        await ch.client.post(`/v1/webhook-deliveries/${delivery?.id}/resend`, {});
        await waitFor(async () => moved.got.length >= 1 || undefined, 10_000, 'the resend to the new URL');
        await quiet();
      } finally {
        await moved.close();
      }
      // An admin cannot make an endpoint for a channel that does not exist.
      const orphan = await t.admin('POST', '/admin/v1/webhook-endpoints', {
        channel_id: 'ch_00000000000000000000000000',
        url: receiver.url,
        event_types: ['*'],
      });
      expect(orphan.status).toBe(400);
      expect(orphan.body.error).toMatchObject({ code: 'unknown_reference', field: 'channel_id' });

      expect((await ch.client.delete(`/v1/webhook-endpoints/${id}`)).status).toBe(200);
      await refused(() => ch.client.get(`/v1/webhook-endpoints/${id}`), 404, 'resource_not_found');
    } finally {
      await receiver.close();
      await quiet();
      await t.ctx.storage.db.deleteFrom('webhook_endpoints').execute();
    }
  });

  it('bad endpoint input gets 400 with its own code and stores nothing', async () => {
    const cases: [unknown, string, string][] = [
      [{ url: 'ftp://merchant.example/notify', event_types: ['*'] }, 'url_invalid', 'url'],
      [{ url: `https://merchant.example/${'a'.repeat(2100)}`, event_types: ['*'] }, 'url_invalid', 'url'],
      [{ url: 'http://10.0.0.1/notify', event_types: ['*'] }, 'url_address_refused', 'url'],
      [{ url: 'https://127.0.0.2/notify', event_types: ['*'] }, 'url_address_refused', 'url'],
      [
        { url: 'https://merchant.example/notify', event_types: ['order.paid_twice'] },
        'unknown_event_type',
        'event_types',
      ],
      [
        { url: 'https://merchant.example/notify', event_types: ['webhook_endpoint.disabled'] },
        'unknown_event_type',
        'event_types',
      ],
      [{ url: 'https://merchant.example/notify', event_types: [] }, 'invalid_request', 'event_types'],
    ];
    for (const [body, code, field] of cases) {
      await refused(() => ch.client.post('/v1/webhook-endpoints', body), 400, code, field);
    }
    // A callback_url that would never be called is refused at intake, before anything is written.
    const card = take('cmcc_national', 'valid');
    await refused(
      () =>
        ch.client.post('/v1/orders', {
          merchant_order_id: 'wh-bad-cb',
          card_type: 'cmcc_national',
          card_number: card.number,
          card_secret: card.secret,
          declared_face_value: card.declaredFaceValue,
          seller: { id: 's1' },
          callback_url: 'http://169.254.169.254/latest/meta-data/',
        }),
      400,
      'url_address_refused',
      'callback_url',
    );
  });

  it("an order's callback_url must be on one of the channel's hosts when it has a list", async () => {
    const shop = await t.createChannel({ name: 'Listed hosts' });
    const patched = await t.admin('PATCH', `/admin/v1/channels/${shop.id}`, {
      callbacks: { allowed_hosts: ['notify.merchant.example'] },
    });
    expect(patched.status).toBe(200);
    expect((patched.body as { callbacks: { allowed_hosts: string[] } }).callbacks.allowed_hosts).toEqual([
      'notify.merchant.example',
    ]);
    const card = take('cmcc_national', 'valid');
    await refused(
      () =>
        shop.client.post('/v1/orders', {
          merchant_order_id: 'wh-host-1',
          card_type: card.cardType,
          card_number: card.number,
          card_secret: card.secret,
          declared_face_value: card.declaredFaceValue,
          seller: { id: 's1' },
          callback_url: 'https://elsewhere.example/notify',
        }),
      400,
      'callback_host_not_allowed',
      'callback_url',
    );
    const ok = await shop.client.post<OrderView>('/v1/orders', {
      merchant_order_id: 'wh-host-2',
      card_type: card.cardType,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 's1' },
      callback_url: 'https://notify.merchant.example/recard',
    });
    expect(ok.status).toBe(201);
  });
});
