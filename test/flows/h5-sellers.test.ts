import { createHash, randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { OrderList, OrderView } from '../../src/modules/orders/model.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { ShiftedClock } from '../harness/clock.js';
import { type RawResponse, send } from '../harness/http.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { sleep, waitFor } from '../harness/wait.js';

/**
 * The h5 seller page end to end (docs/h5-sellers.md): sign-up, sign-in, a card handed in through
 * the same intake as the channel API and verified by a simulated issuer, each seller seeing only
 * their own; refusals (wrong password, lockout, CSRF, expiry, non-h5 channels) writing nothing.
 */
const COOKIE = '__Host-recard_h5_session';
const IDLE_S = 60;
const MAX_S = 300;
const FINAL = ['settled', 'paid', 'invalid', 'failed', 'review', 'rejected'];

interface Session {
  token: string;
  csrf: string;
  sellerId: string;
  setCookie: string;
}

describe.each(storageTargets())('h5 seller page on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let h5: string;
  const clock = new ShiftedClock();
  let phoneSerial = 0;
  const phoneBase = randomInt(1e7);
  const newPhone = () => `139${String((phoneBase + ++phoneSerial) % 1e8).padStart(8, '0')}`;
  const PASSWORD = 'correct horse battery';
  const used = new Set<string>();
  const take = (): SimCard => {
    const card = sims.cards.find(
      (c) => c.cardType === 'cmcc_national' && c.label === 'valid' && !used.has(c.number),
    );
    if (!card) throw new Error('no valid card left');
    used.add(card.number);
    return card;
  };

  const call = (
    method: string,
    path: string,
    opts: {
      cookie?: string;
      bearer?: string;
      csrf?: string;
      body?: unknown;
      headers?: Record<string, string>;
    } = {},
  ): Promise<RawResponse> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie !== undefined) headers.cookie = `${COOKIE}=${opts.cookie}`;
    if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
    if (opts.csrf !== undefined) headers['x-recard-csrf'] = opts.csrf;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    return send(
      t.url,
      method,
      path,
      headers,
      opts.body === undefined ? undefined : JSON.stringify(opts.body),
    );
  };
  const register = (phone: string, password = PASSWORD, channel = h5) =>
    call('POST', `/h5/v1/channels/${channel}/sellers`, { body: { phone, password } });
  const login = (phone: string, password = PASSWORD, channel = h5) =>
    call('POST', `/h5/v1/channels/${channel}/sessions`, { body: { phone, password } });
  const signedIn = async (phone = newPhone()): Promise<Session & { phone: string }> => {
    expect((await register(phone)).status).toBe(201);
    const res = await login(phone);
    expect(res.status).toBe(201);
    return {
      phone,
      token: res.body.token as string,
      csrf: res.body.csrf_token as string,
      sellerId: res.body.seller_id as string,
      setCookie: res.headers.get('set-cookie') ?? '',
    };
  };
  /** Row counts once background work (verification, booking) of earlier orders has stopped moving. */
  const quietCounts = () =>
    waitFor(
      async () => {
        const a = await t.counts();
        await sleep(300);
        const b = await t.counts();
        return JSON.stringify(a) === JSON.stringify(b) ? b : undefined;
      },
      15_000,
      'background work to finish',
    );
  const cardBody = (card: SimCard) => ({
    card_type: card.cardType,
    card_number: card.number,
    card_secret: card.secret,
    declared_face_value: card.declaredFaceValue,
  });

  beforeAll(async () => {
    sims = await startSimulators({ seed: `h5-${target.name}`, perLabel: { valid: 8, used: 1 } });
    t = await startTestServer(target, {
      clock,
      config: { h5SessionIdleS: IDLE_S, h5SessionMaxS: MAX_S },
    });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    h5 = (await t.createChannel({ name: 'Seller page', kind: 'h5' })).id;
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it('registers and signs in: an h5_ seller, no phone or password in clear, a hashed token, a strict cookie', async () => {
    const phone = newPhone();
    const reg = await register(phone);
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ channel_id: h5, phone_masked: `1******${phone.slice(-4)}` });
    const sellerId = reg.body.seller_id as string;
    expect(sellerId).toMatch(/^h5_[0-9a-z]{26}$/);
    const seller = await t.ctx.storage.db
      .selectFrom('sellers')
      .selectAll()
      .where('channel_id', '=', h5)
      .where('id', '=', sellerId)
      .executeTakeFirst();
    expect(seller).toBeDefined();

    const res = await login(phone);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const token = res.body.token as string;
    expect(res.body).toMatchObject({ seller_id: sellerId, channel_id: h5 });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`${COOKIE}=${token}`);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/', `Max-Age=${MAX_S}`])
      expect(cookie).toContain(attr);

    const account = await t.ctx.storage.db
      .selectFrom('seller_accounts')
      .selectAll()
      .where('seller_id', '=', sellerId)
      .executeTakeFirstOrThrow();
    expect(account.password_hash).toMatch(/^\$argon2id\$/);
    const stored = JSON.stringify(account);
    expect(stored).not.toContain(phone);
    expect(stored).not.toContain(PASSWORD);
    const sessions = await t.ctx.storage.db
      .selectFrom('seller_sessions')
      .selectAll()
      .where('seller_id', '=', sellerId)
      .execute();
    expect(sessions.map((s) => s.token_hash)).toEqual([createHash('sha256').update(token).digest('hex')]);
    expect(JSON.stringify(sessions)).not.toContain(token);

    // The page reads who is signed in, and its CSRF token, with the cookie alone.
    const me = await call('GET', '/h5/v1/session', { cookie: token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ seller_id: sellerId, csrf_token: res.body.csrf_token });
  });

  it('refuses a bad phone, a short password and a phone already registered', async () => {
    const bad = await register('12345678901');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe('phone');
    const short = await register(newPhone(), 'short');
    expect(short.status).toBe(400);
    expect(short.body.error?.field).toBe('password');
    const phone = newPhone();
    expect((await register(phone)).status).toBe(201);
    const before = await quietCounts();
    const again = await register(phone, 'another password');
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('seller_phone_taken');
    expect(await t.counts()).toEqual(before);
  });

  it('a card handed in goes through the intake, verifies, and only its seller sees it', async () => {
    const a = await signedIn();
    const card = take();
    const res = await call('POST', '/h5/v1/orders', { cookie: a.token, csrf: a.csrf, body: cardBody(card) });
    expect(res.status).toBe(201);
    const order = res.body as unknown as OrderView;
    expect(order.seller.id).toBe(a.sellerId);
    expect(order.status).toBe('submitted');
    expect(order.card_number_masked.endsWith(card.number.slice(-4))).toBe(true);
    const stored = await t.ctx.storage.db
      .selectFrom('orders')
      .select(['channel_id', 'seller_id'])
      .where('id', '=', order.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ channel_id: h5, seller_id: a.sellerId });

    const done = await waitFor(
      async () => {
        const o = await call('GET', `/h5/v1/orders/${order.id}`, { bearer: a.token });
        return FINAL.includes(o.body.status as string) ? (o.body as unknown as OrderView) : undefined;
      },
      15_000,
      'the seller page order to verify',
    );
    expect(['settled', 'paid']).toContain(done.status);
    expect(done.actual_face_value).toBe(card.declaredFaceValue);
    const mine = await call('GET', '/h5/v1/orders', { cookie: a.token });
    expect((mine.body as unknown as OrderList).data.map((o) => o.id)).toEqual([order.id]);
    const balance = await call('GET', '/h5/v1/balance', { cookie: a.token });
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ seller_id: a.sellerId, commission: [] });
    expect((await call('GET', '/h5/v1/payouts', { cookie: a.token })).status).toBe(200);

    // Another seller of the same channel: not found, and an empty list.
    const b = await signedIn();
    const other = await call('GET', `/h5/v1/orders/${order.id}`, { cookie: b.token });
    expect(other.status).toBe(404);
    expect(other.body.error?.code).toBe('resource_not_found');
    expect((await call('GET', '/h5/v1/orders', { cookie: b.token })).body.data).toEqual([]);
  });

  it('an Idempotency-Key is scoped to the seller: a repeat gets the first answer', async () => {
    const a = await signedIn();
    const body = cardBody(take());
    const first = await call('POST', '/h5/v1/orders', {
      bearer: a.token,
      body,
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(first.status).toBe(201);
    const again = await call('POST', '/h5/v1/orders', {
      bearer: a.token,
      body,
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const scopes = await t.ctx.storage.db
      .selectFrom('idempotency_keys')
      .select('scope')
      .where('key', '=', 'k-1')
      .execute();
    expect(scopes.map((s) => s.scope)).toEqual([`seller:${h5}:${a.sellerId}`]);
  });

  it('CSRF: a change made with the cookie needs X-Recard-CSRF; the bearer token does not', async () => {
    const a = await signedIn();
    const before = await quietCounts();
    for (const csrf of [undefined, 'wrong', `${a.csrf}x`]) {
      const res = await call('POST', '/h5/v1/orders', {
        cookie: a.token,
        ...(csrf === undefined ? {} : { csrf }),
        body: cardBody(sims.cards[0] as SimCard),
      });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'csrf_token_invalid', field: 'x-recard-csrf' });
    }
    const logout = await call('DELETE', '/h5/v1/session', { cookie: a.token });
    expect(logout.status).toBe(403);
    expect(await t.counts()).toEqual(before);
    // Reads with the cookie need no CSRF token.
    expect((await call('GET', '/h5/v1/orders', { cookie: a.token })).status).toBe(200);
  });

  it('a wrong password and an unknown phone get the same answer; the unknown phone writes nothing', async () => {
    const a = await signedIn();
    const wrong = await login(a.phone, 'not the password');
    expect(wrong.status).toBe(401);
    const before = await quietCounts();
    const unknown = await login(newPhone(), 'not the password');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toEqual({ ...wrong.body.error, request_id: unknown.body.error?.request_id });
    expect(unknown.body.error?.code).toBe('seller_credentials_invalid');
    expect(await t.counts()).toEqual(before);
  });

  it('refuses sign-up and sign-in on a channel that is not an active h5 channel, writing nothing', async () => {
    const merchant = (await t.createChannel({ name: 'Signed API', kind: 'merchant' })).id;
    const before = await quietCounts();
    for (const channel of [merchant, 'ch_00000000000000000000000000']) {
      for (const res of [
        await register(newPhone(), PASSWORD, channel),
        await login(newPhone(), PASSWORD, channel),
      ]) {
        expect(res.status).toBe(404);
        expect(res.body.error?.code).toBe('seller_page_unavailable');
      }
    }
    expect(await t.counts()).toEqual(before);

    // A disabled h5 channel: no sign-in, and its live sessions stop working.
    const closing = (await t.createChannel({ name: 'Closing page', kind: 'h5' })).id;
    const phone = newPhone();
    expect((await register(phone, PASSWORD, closing)).status).toBe(201);
    const session = await login(phone, PASSWORD, closing);
    expect(session.status).toBe(201);
    await t.ctx.channels.setStatus(closing, 'disabled');
    expect((await login(phone, PASSWORD, closing)).body.error?.code).toBe('seller_page_unavailable');
    const gone = await call('GET', '/h5/v1/orders', { bearer: session.body.token as string });
    expect(gone.status).toBe(401);
    expect(gone.body.error?.code).toBe('seller_session_invalid');
  });

  it('without a session every seller route is 401, and nothing is written', async () => {
    const before = await quietCounts();
    for (const [method, path] of [
      ['GET', '/h5/v1/session'],
      ['DELETE', '/h5/v1/session'],
      ['GET', '/h5/v1/orders'],
      ['POST', '/h5/v1/orders'],
      ['GET', '/h5/v1/balance'],
      ['GET', '/h5/v1/payouts'],
    ] as const) {
      for (const opts of [
        {},
        { bearer: 'h5s_not-a-real-token-000000000000000000000000' },
        { cookie: 'junk' },
      ]) {
        const res = await call(method, path, opts);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body.error?.code).toBe('seller_session_invalid');
      }
    }
    expect(await t.counts()).toEqual(before);
  });

  it('signing out ends the session at once, for the cookie and the bearer token alike', async () => {
    const a = await signedIn();
    const out = await call('DELETE', '/h5/v1/session', { cookie: a.token, csrf: a.csrf });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    for (const opts of [{ cookie: a.token }, { bearer: a.token }]) {
      const res = await call('GET', '/h5/v1/orders', opts);
      expect(res.status).toBe(401);
      expect(res.body.error?.code).toBe('seller_session_invalid');
    }
  });

  it('a session ends when idle too long, and at its absolute end however active', async () => {
    const idle = await signedIn();
    clock.advance((IDLE_S + 1) * 1000);
    const res = await call('GET', '/h5/v1/orders', { bearer: idle.token });
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('seller_session_expired');

    const busy = await signedIn();
    let elapsed = 0;
    while (elapsed + 40 < MAX_S) {
      clock.advance(40_000);
      elapsed += 40;
      expect((await call('GET', '/h5/v1/orders', { bearer: busy.token })).status).toBe(200);
    }
    clock.advance((MAX_S - elapsed) * 1000);
    const late = await call('GET', '/h5/v1/orders', { bearer: busy.token });
    expect(late.status).toBe(401);
    expect(late.body.error?.code).toBe('seller_session_expired');
  });

  it('5 wrong passwords in 15 minutes lock the login for 15 minutes, then the right one works', async () => {
    const a = await signedIn();
    for (let i = 0; i < 5; i++) expect((await login(a.phone, `wrong password ${i}`)).status).toBe(401);
    const locked = await login(a.phone);
    expect(locked.status).toBe(429);
    expect(locked.body.error?.code).toBe('seller_login_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    clock.advance(15 * 60_000 + 1000);
    expect((await login(a.phone)).status).toBe(201);
    // Failures spread wider than the window do not lock.
    for (let i = 0; i < 4; i++) expect((await login(a.phone, 'wrong password x')).status).toBe(401);
    clock.advance(15 * 60_000);
    for (let i = 0; i < 4; i++) expect((await login(a.phone, 'wrong password y')).status).toBe(401);
    expect((await login(a.phone)).status).toBe(201);
  });

  it('the reference names the seller page operations and their security; logs hold no phone, password or token', async () => {
    const doc = (await send(t.url, 'GET', '/openapi.json')).body as unknown as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { operationId: string; security: unknown[] }>>;
    };
    expect(doc.components.securitySchemes.sellerSession).toMatchObject({ in: 'cookie', name: COOKIE });
    expect(doc.paths['/h5/v1/orders']?.post?.security).toEqual([{ sellerSession: [] }, { sellerBearer: [] }]);
    expect(doc.paths['/h5/v1/channels/{channel_id}/sessions']?.post?.security).toEqual([]);
    const a = await signedIn();
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(a.phone);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(a.token);
  });
});
