import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ACCESS } from '../../src/http/admin-roles.js';
import type { RegisteredRoute } from '../../src/http/route-list.js';
import type { AdminRole } from '../../src/modules/admins/index.js';
import { newId } from '../../src/shared/ids.js';
import { type RawResponse, rawCall, send } from '../harness/http.js';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * Every route the router registered, walked with the wrong caller: no credentials, wrong ones, a
 * role too weak, channel credentials on admin routes and admin ones on channel routes, and another
 * channel's object ids. Each is refused (401, 403 or 404) in the error body, and nothing is written.
 * Routes come from the application itself (`app.routeList`, an onRoute collector), so a new route is
 * walked without anyone adding it here.
 */

/**
 * Routes meant to be reachable without Recard credentials, and why. Everything else must be a
 * channel route (/v1) or an admin route (/admin/v1). Add here only with a reason.
 */
const PUBLIC: Record<string, string> = {
  'GET /healthz': 'liveness probe for the orchestrator',
  'GET /readyz': 'readiness probe for the orchestrator',
  'GET /metrics': 'Prometheus scrape (bind it to an internal interface)',
  'GET /openapi.json': 'the published API document',
  'POST /notify/payouts/wechat': "signed by WeChat Pay with its platform key: checked by the route's own 401",
  'POST /admin/v1/sessions': 'admin login: username and password are the credentials',
  'POST /oauth/token':
    'OAuth client credentials: the channel id and API secret are the credentials (RFC 6749 §4.4)',
  'GET /.well-known/jwks.json': 'the public keys access tokens are signed with',
  'POST /h5/v1/channels/:channel_id/sellers': 'seller page sign-up: phone and password are what it takes',
  'POST /h5/v1/channels/:channel_id/sessions': 'seller page sign-in: phone and password are the credentials',
};
/** The docs UI (@fastify/swagger-ui) serves its static files under this prefix. */
const PUBLIC_PREFIX = '/docs';

const isPublic = (r: RegisteredRoute) =>
  `${r.method} ${r.url}` in PUBLIC || r.url === PUBLIC_PREFIX || r.url.startsWith(`${PUBLIC_PREFIX}/`);

/**
 * Channel routes with an id in the path, and a body that passes validation, so that the answer to
 * another channel's id is the handler's 404, not a 400. A new such route fails the walk until it
 * has a line here.
 */
const VALID_BODY: Record<string, unknown> = {
  updateWebhookEndpoint: { description: 'changed' },
  replayWebhookEndpoint: { since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' },
  resendEvent: {},
  addPayoutDestination: { kind: 'alipay', account: '13800138000', holder_name: '张三' },
  verifyStepUp: { code: '123456' },
};

/**
 * Channel routes with an id in the path that are not about another channel's object, and why.
 */
const NOT_CROSS_CHANNEL: Record<string, string> = {
  // A seller id is the channel's own name for its seller: B writing "seller-a" makes B's own seller.
  putSeller: 'seller ids are per-channel names; PUT creates the caller’s own',
};

type Channel = Awaited<ReturnType<TestServer['createChannel']>>;

describe.each(storageTargets())('route walk on $name', (target) => {
  let t: TestServer;
  let a: Channel;
  let b: Channel;
  let routes: RegisteredRoute[];
  const sessions: Partial<Record<AdminRole, string>> = {};
  /** Two sellers of one h5 channel: A's orders, B's session. */
  const sellers: { a?: string; b?: string } = {};
  /** Path parameter values naming channel A's objects. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    routes = t.server.app.routeList.filter((r) => !isPublic(r) && !r.hidden);
    a = await t.createChannel({ name: 'Channel A' });
    b = await t.createChannel({ name: 'Channel B' });
    for (const role of ['reviewer', 'finance'] as const) sessions[role] = (await t.adminSession(role)).token;
    const page = await t.createChannel({ name: 'Seller page', kind: 'h5' });
    for (const [who, phone] of [
      ['a', '13800000001'],
      ['b', '13800000002'],
    ] as const) {
      const body = JSON.stringify({ phone, password: 'correct horse battery' });
      const json = { 'content-type': 'application/json' };
      expect((await send(t.url, 'POST', `/h5/v1/channels/${page.id}/sellers`, json, body)).status).toBe(201);
      const session = await send(t.url, 'POST', `/h5/v1/channels/${page.id}/sessions`, json, body);
      sellers[who] = session.body.token as string;
    }
    const sold = await send(
      t.url,
      'POST',
      '/h5/v1/orders',
      { authorization: `Bearer ${sellers.a}`, 'content-type': 'application/json' },
      JSON.stringify((({ merchant_order_id: _m, seller: _s, ...card }) => card)(mobileOrder())),
    );
    expect(sold.status, sold.text).toBe(201);
    ids.sellerOrder = sold.body.id as string;

    // Channel A's objects, made the cheap way: through its API, or rows where only a worker makes them.
    const order = await a.client.post<{ id: string }>(
      '/v1/orders',
      mobileOrder({ seller: { id: 'seller-a', name: '张三' } }),
    );
    expect(order.status).toBe(201);
    ids.order = order.body.id;
    expect((await a.client.put('/v1/sellers/seller-a', { verified_name: '张三' })).status).toBe(200);
    const dst = await a.client.post<{ id: string }>(
      '/v1/sellers/seller-a/destinations',
      VALID_BODY.addPayoutDestination,
    );
    expect(dst.status).toBe(201);
    ids.destination = dst.body.id;
    const endpoint = await a.client.post<{ id: string }>('/v1/webhook-endpoints', {
      url: 'http://127.0.0.1:9/hook',
      event_types: ['*'],
    });
    expect(endpoint.status).toBe(201);
    ids.endpoint = endpoint.body.id;
    const cbt = await a.client.post<{ id: string }>('/v1/callback-tests', { url: 'http://127.0.0.1:9/cb' });
    expect(cbt.status).toBe(202);
    ids.callbackTest = cbt.body.id;
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = await t.admin('POST', `/admin/v1/channels/${a.id}/keys`, {
      public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    expect(key.status).toBe(201);
    ids.key = key.body.id as string;
    const batch = await a.client.uploadBatch<{ id: string }>(
      { merchant_batch_id: 'walk-1', format: 'text', card_type: 'cmcc_national', declared_face_value: 10000 },
      Buffer.from('12345678901234567 123456789012345678\n'),
      'walk.txt',
    );
    expect(batch.status).toBe(202);
    ids.batch = batch.body.id;
    // Read from the table: on PostgreSQL the listing waits for the sequencer, which runs with a worker.
    const event = await t.ctx.storage.db
      .selectFrom('events')
      .select('id')
      .where('channel_id', '=', a.id)
      .executeTakeFirst();
    ids.event = event?.id ?? '';
    expect(ids.event).toMatch(/^evt_/);
    const now = Date.now();
    ids.delivery = newId('whd', now);
    await t.ctx.storage.db
      .insertInto('webhook_deliveries')
      .values({
        id: ids.delivery,
        channel_id: a.id,
        endpoint_id: ids.endpoint,
        url: 'http://127.0.0.1:9/hook',
        event_id: ids.event,
        event_position: 1,
        event_type: 'order.submitted',
        event_created_at: now,
        status: 'succeeded',
        attempts: 1,
        next_attempt_at: null,
        last_status_code: 200,
        last_error_code: null,
        resend_of: null,
        created_at: now,
        updated_at: now,
        succeeded_at: now,
      })
      .execute();
    ids.payout = newId('po', now);
    await t.ctx.storage.db
      .insertInto('payouts')
      .values({
        id: ids.payout,
        channel_id: a.id,
        seller_id: 'seller-a',
        destination_id: ids.destination,
        provider: 'alipay',
        amount: 100,
        fee: 0,
        currency: 'CNY',
        status: 'paid',
        batch_id: null,
        order_count: 0,
        attempts: 1,
        provider_ref: null,
        raw_code: null,
        reason: null,
        created_at: now,
        updated_at: now,
        sent_at: now,
        finished_at: now,
      })
      .execute();
  });
  afterAll(async () => {
    // The made-up payout has no ledger holds; the suite's closing ledger check would flag it.
    await t.ctx.storage.db
      .deleteFrom('payouts')
      .where('id', '=', ids.payout as string)
      .execute();
    await t.stop();
  });

  /** A channel A object for each path parameter of a channel route. */
  function channelPath(r: RegisteredRoute): string | undefined {
    const byRoute: Record<string, string> = {
      '/v1/orders/:id': ids.order as string,
      '/v1/orders/:id/step-up': ids.order as string,
      '/v1/payouts/:id': ids.payout as string,
      '/v1/callback-tests/:id': ids.callbackTest as string,
      '/v1/webhook-endpoints/:id': ids.endpoint as string,
      '/v1/webhook-endpoints/:id/replay': ids.endpoint as string,
      '/v1/webhook-deliveries/:id': ids.delivery as string,
      '/v1/webhook-deliveries/:id/resend': ids.delivery as string,
      '/v1/events/:id/resend': ids.event as string,
      '/v1/channel/keys/:key_id': ids.key as string,
      '/v1/batches/:id': ids.batch as string,
      '/v1/batches/:id/report': ids.batch as string,
    };
    return r.url.replace(/:([a-z_]+)/g, (_, name: string) => {
      if (name === 'seller_id') return 'seller-a';
      if (name === 'id' && r.url.startsWith('/v1/sellers/')) return ids.destination as string;
      const id = byRoute[r.url];
      if (!id) throw new Error(`route walk: no channel A object for ${r.method} ${r.url} (add one)`);
      return id;
    });
  }

  /** Any value for each parameter: callers refused before validation never see it. */
  const anyPath = (r: RegisteredRoute) => r.url.replace(/:([a-z_]+)/g, 'x1');
  const hasBody = (r: RegisteredRoute) => ['POST', 'PUT', 'PATCH'].includes(r.method);
  /** What a signed call sends: the given body, else `{}` where the route takes one. */
  const payloadOf = (r: RegisteredRoute, body: unknown) => body ?? (r.body ? {} : undefined);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const call = (r: RegisteredRoute, headers: Record<string, string>, path = anyPath(r)) =>
    send(
      t.url,
      r.method,
      path,
      { ...headers, ...(hasBody(r) ? { 'content-type': 'application/json' } : {}) },
      hasBody(r) ? '{}' : undefined,
    );
  const signed = (
    r: RegisteredRoute,
    channel: Channel,
    secret = channel.secret,
    path = anyPath(r),
    body?: unknown,
  ) =>
    rawCall(t.url, {
      channelId: channel.id,
      secret,
      method: r.method,
      path,
      ...(payloadOf(r, body) === undefined ? {} : { body: JSON.stringify(payloadOf(r, body)) }),
    });

  /** The documented error body with one of the expected statuses. */
  function refusedWith(res: RawResponse, statuses: number[], what: string, code?: string) {
    expect(statuses, `${what}: ${res.status} ${res.text.slice(0, 200)}`).toContain(res.status);
    expect(res.body.error, what).toMatchObject({
      code: expect.any(String),
      message: expect.any(String),
      request_id: expect.any(String),
    });
    if (code) expect(res.body.error?.code, what).toBe(code);
  }

  /** Nothing a refused request does may change a row; spending a nonce is authentication's own record. */
  const snapshot = async () => {
    const { request_nonces: _, ...rest } = await t.counts();
    // None of these calls reaches a handler, so none is audited either.
    const audit = await t.ctx.storage.db
      .selectFrom('admin_audit')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    return { ...rest, admin_audit: Number(audit?.n ?? 0) };
  };

  it('finds every route, and each is a channel route, an admin route or listed as public', () => {
    expect(routes.length).toBeGreaterThan(60);
    const stray = routes.filter(
      (r) =>
        !r.url.startsWith('/v1/') &&
        r.url !== '/v1' &&
        !r.url.startsWith('/admin/v1/') &&
        !r.url.startsWith('/h5/v1/'),
    );
    expect(stray.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    for (const key of Object.keys(PUBLIC))
      expect(
        t.server.app.routeList.some((r) => `${r.method} ${r.url}` === key),
        `public ${key} exists`,
      ).toBe(true);
  });

  it('refuses every route without credentials, and with wrong ones', async () => {
    const before = await snapshot();
    for (const r of routes) {
      const what = `${r.method} ${r.url}`;
      refusedWith(await call(r, {}), [401], `${what} without credentials`);
      if (r.url.startsWith('/admin/')) {
        refusedWith(
          await call(r, bearer(`rcs_${'A'.repeat(43)}`)),
          [401],
          `${what} with a made-up session`,
          'admin_token_invalid',
        );
        refusedWith(
          await call(r, bearer(`${TEST_ADMIN_TOKEN}x`)),
          [401],
          `${what} with a wrong token`,
          'admin_token_invalid',
        );
      } else if (r.url.startsWith('/h5/')) {
        refusedWith(
          await call(r, bearer(`h5s_${'A'.repeat(43)}`)),
          [401],
          `${what} with a made-up seller session`,
        );
      } else {
        refusedWith(
          await signed(r, a, `sk_${'0'.repeat(43)}`),
          [401],
          `${what} with a wrong secret`,
          'signature_invalid',
        );
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a seller session on channel and admin routes, and channel or admin credentials on seller routes', async () => {
    const before = await snapshot();
    for (const r of routes) {
      const what = `${r.method} ${r.url}`;
      if (r.url.startsWith('/h5/')) {
        refusedWith(await signed(r, a), [401], `${what} signed by a channel`);
        refusedWith(await call(r, bearer(TEST_ADMIN_TOKEN)), [401], `${what} with the break-glass token`);
      } else {
        refusedWith(await call(r, bearer(sellers.b as string)), [401], `${what} with a seller session`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers 404 to another seller's order on the seller page", async () => {
    const before = await snapshot();
    for (const r of routes.filter((x) => x.url.startsWith('/h5/') && x.url.includes(':id'))) {
      refusedWith(
        await call(r, bearer(sellers.b as string), r.url.replace(':id', ids.sellerOrder as string)),
        [404],
        `${r.method} ${r.url} for another seller's order`,
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses channel credentials on admin routes and admin credentials on channel routes', async () => {
    const before = await snapshot();
    for (const r of routes) {
      const what = `${r.method} ${r.url}`;
      if (r.url.startsWith('/admin/')) {
        refusedWith(await signed(r, a), [401], `${what} signed by a channel`, 'admin_token_invalid');
      } else {
        refusedWith(await call(r, bearer(TEST_ADMIN_TOKEN)), [401], `${what} with the break-glass token`);
        refusedWith(
          await call(r, bearer(sessions.finance as string)),
          [401],
          `${what} with an admin session`,
        );
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a role too weak for the route with 403 role_forbidden', async () => {
    const before = await snapshot();
    let refusals = 0;
    for (const r of routes.filter((x) => x.url.startsWith('/admin/'))) {
      const access = ADMIN_ACCESS[r.operationId ?? ''];
      expect(access, `${r.method} ${r.url} has a role entry`).toBeDefined();
      for (const role of ['reviewer', 'finance'] as const) {
        if (access === 'public' || access?.includes(role)) continue;
        refusedWith(
          await call(r, bearer(sessions[role] as string)),
          [403],
          `${r.method} ${r.url} as ${role}`,
          'role_forbidden',
        );
        refusals++;
      }
    }
    expect(refusals).toBeGreaterThan(60);
    expect(await snapshot()).toEqual(before);
  });

  it("answers 404 to another channel's object ids, and changes nothing", async () => {
    const before = await snapshot();
    let walked = 0;
    for (const r of routes.filter((x) => x.url.startsWith('/v1/') && x.url.includes(':'))) {
      if (NOT_CROSS_CHANNEL[r.operationId ?? '']) continue;
      const path = channelPath(r) as string;
      const what = `${r.method} ${path} by channel B`;
      if (r.body && !(r.operationId && r.operationId in VALID_BODY))
        throw new Error(`route walk: no valid body for ${r.operationId} (add one to VALID_BODY)`);
      const res = await signed(r, b, b.secret, path, r.operationId ? VALID_BODY[r.operationId] : undefined);
      refusedWith(res, [404], what);
      // Channel A still sees its object where it has a GET of it.
      walked++;
    }
    expect(walked).toBeGreaterThan(10);
    expect(await snapshot()).toEqual(before);
    expect((await a.client.get(`/v1/orders/${ids.order}`)).status).toBe(200);
    expect((await a.client.get(`/v1/webhook-endpoints/${ids.endpoint}`)).status).toBe(200);
  });
});
