import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKey } from '../../src/config/keys.js';
import { createOauthService } from '../../src/modules/channels/index.js';
import { makeKeyring } from '../../src/shared/crypto.js';
import { ShiftedClock } from '../harness/clock.js';
import { rawCall, send } from '../harness/http.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, TEST_CHANNEL_KEY, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * E-commerce platforms: OAuth 2.0 client credentials (RFC 6749 §4.4) for a short-lived JWT, carried
 * with the request signature. The client is oauth4webapi, as a platform's engineers would use it.
 */
describe.each(storageTargets())('OAuth 2.0 client credentials on $name', (target) => {
  let t: TestServer;
  const clock = new ShiftedClock();
  let shop: Awaited<ReturnType<TestServer['createChannel']>>;
  let other: Awaited<ReturnType<TestServer['createChannel']>>;
  let as: oauth.AuthorizationServer;

  beforeAll(async () => {
    t = await startTestServer(target, { clock, config: { oauthTokenTtlS: 60, oauthKeyRotationS: 120 } });
    // The e-commerce kind's own auth: HMAC plus a token.
    shop = await t.createChannel({ name: 'Shop', kind: 'ecommerce', auth: { require_token: true } });
    other = await t.createChannel({ name: 'Other shop', kind: 'ecommerce', auth: { require_token: true } });
    as = { issuer: 'recard', token_endpoint: `${t.url}/oauth/token` };
  });
  afterAll(() => t.stop());

  async function tokenFor(ch: { id: string; secret: string }): Promise<string> {
    const client: oauth.Client = { client_id: ch.id };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(ch.secret),
      new URLSearchParams(),
      { [oauth.allowInsecureRequests]: true },
    );
    const result = await oauth.processClientCredentialsResponse(as, client, response);
    expect(result.token_type).toBe('bearer');
    expect(result.expires_in).toBe(60);
    return result.access_token;
  }

  const call = (ch: { id: string; secret: string }, token?: string) =>
    rawCall(t.url, {
      channelId: ch.id,
      secret: ch.secret,
      method: 'GET',
      path: '/v1/channel',
      ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });

  it('issues a token to oauth4webapi that, with the signature, opens the channel API', async () => {
    const token = await tokenFor(shop);
    const res = await call(shop, token);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(shop.id);
    // Published: the token's key is in the JWKS.
    const jwks = await send(t.url, 'GET', '/.well-known/jwks.json');
    const kids = (jwks.body.keys as { kid: string; d?: string }[]).map((k) => k.kid);
    expect(kids).toContain(decodeProtectedHeader(token).kid);
    expect(jwks.text).not.toContain('"d"');
  });

  it('refuses a call of a token-bound channel without a token, or with only a token', async () => {
    await expectRefusal(t, () => call(shop), { status: 401, code: 'token_invalid', field: 'authorization' });
    const token = await tokenFor(shop);
    const unsigned = await send(t.url, 'GET', '/v1/channel', { authorization: `Bearer ${token}` });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error?.code).toBe('auth_header_invalid');
  });

  it("refuses another channel's token", async () => {
    const token = await tokenFor(other);
    await expectRefusal(t, () => call(shop, token), { status: 401, code: 'token_invalid' });
  });

  it('refuses a forged token: another key under our kid, alg none, an altered payload', async () => {
    const real = await tokenFor(shop);
    const { kid } = decodeProtectedHeader(real);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: kid ?? '', typ: 'at+jwt' })
      .setIssuer('recard')
      .setAudience('recard-api')
      .setSubject(shop.id)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectRefusal(t, () => call(shop, forged), { status: 401, code: 'token_invalid' });
    const [h, p] = real.split('.') as [string, string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    await expectRefusal(t, () => call(shop, none), { status: 401, code: 'token_invalid' });
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...payload, exp: Number(payload.exp) + 3600 })).toString('base64url')}.${real.split('.')[2]}`;
    await expectRefusal(t, () => call(shop, altered), { status: 401, code: 'token_invalid' });
  });

  it('refuses a token for another audience, signed with our own key', async () => {
    const elsewhere = createOauthService({
      db: t.ctx.storage.db,
      keyring: makeKeyring(toKey(TEST_CHANNEL_KEY)),
      clock,
      channels: t.ctx.channels,
      settings: { issuer: 'recard', audience: 'another-api', tokenTtlS: 60, keyRotationS: 120 },
    });
    const issued = await elsewhere.issue(shop.id, shop.secret);
    if (!issued.ok) throw new Error(issued.message);
    await expectRefusal(t, () => call(shop, issued.value.access_token), {
      status: 401,
      code: 'token_invalid',
    });
  });

  it('refuses an expired token, and rotates its signing key while old tokens stay valid', async () => {
    const token = await tokenFor(shop);
    const firstKid = decodeProtectedHeader(token).kid;
    clock.advance(61_000);
    await expectRefusal(t, () => call(shop, token), { status: 401, code: 'token_expired' });
    const second = await tokenFor(shop);
    clock.advance(70_000); // past the first key's signing time (120 s): a new key signs
    const third = await tokenFor(shop);
    expect(decodeProtectedHeader(third).kid).not.toBe(firstKid);
    expect((await call(shop, third)).status).toBe(200);
    // Both keys are published while a token of the first may still be valid.
    const jwks = await send(t.url, 'GET', '/.well-known/jwks.json');
    const kids = (jwks.body.keys as { kid: string }[]).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([firstKid, decodeProtectedHeader(third).kid]));
    expect(second).toBeTypeOf('string');
  });

  it('answers a wrong secret, an unknown client and a wrong grant in the RFC 6749 shape', async () => {
    const client: oauth.Client = { client_id: shop.id };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic('sk_wrong'),
      new URLSearchParams(),
      { [oauth.allowInsecureRequests]: true },
    );
    expect(response.status).toBe(401);
    // RFC 6749 §5.2: Basic credentials refused answer 401 with a challenge, which the client reports.
    await expect(oauth.processClientCredentialsResponse(as, client, response.clone())).rejects.toMatchObject({
      status: 401,
      code: 'OAUTH_WWW_AUTHENTICATE_CHALLENGE',
    });
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const unknown = await send(
      t.url,
      'POST',
      '/oauth/token',
      { ...form, authorization: basic('ch_00000000000000000000000000', shop.secret) },
      'grant_type=client_credentials',
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ error: 'invalid_client' });
    expect(unknown.headers.get('www-authenticate')).toMatch(/^Basic/);
    const grant = await send(
      t.url,
      'POST',
      '/oauth/token',
      { ...form, authorization: basic(shop.id, shop.secret) },
      'grant_type=password',
    );
    expect(grant.status).toBe(400);
    expect(grant.body).toMatchObject({ error: 'unsupported_grant_type' });
    const missing = await send(t.url, 'POST', '/oauth/token', form, 'client_id=x');
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_request' });
    expect(missing.body.request_id).toBe(missing.headers.get('x-request-id'));
    // The secret in the form works as well (client_secret_post).
    const post = await send(
      t.url,
      'POST',
      '/oauth/token',
      form,
      `grant_type=client_credentials&client_id=${shop.id}&client_secret=${encodeURIComponent(shop.secret)}`,
    );
    expect(post.status).toBe(200);
    expect(post.headers.get('cache-control')).toBe('no-store');
    expect(t.logs.join('\n')).not.toContain(shop.secret);
  });
});
