import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNonce, rawCall } from '../harness/http.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

describe.each(storageTargets())('signed channel requests on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;

  beforeAll(async () => {
    t = await startTestServer(target);
    ch = await t.createChannel({
      name: 'Shop A',
      kind: 'ecommerce',
      callback_url: 'https://shop-a.example/cb',
    });
  });
  afterAll(() => t.stop());

  const call = (extra: Partial<Parameters<typeof rawCall>[1]> = {}) =>
    rawCall(t.url, { channelId: ch.id, secret: ch.secret, method: 'GET', path: '/v1/channel', ...extra });
  const post = (extra: Partial<Parameters<typeof rawCall>[1]> = {}) =>
    call({
      method: 'POST',
      path: '/v1/callback-tests',
      body: '{"url":"https://shop-a.example/test"}',
      ...extra,
    });

  const expectRefused = (call: () => ReturnType<typeof rawCall>, code: string, field?: string) =>
    expectRefusal(t, call, { status: 401, code, ...(field ? { field } : {}) });

  it('accepts a correctly signed GET and answers with the calling channel', async () => {
    const res = await call();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: ch.id,
      name: 'Shop A',
      kind: 'ecommerce',
      status: 'active',
      callback_url: 'https://shop-a.example/cb',
    });
    expect(res.text).not.toContain(ch.secret);
  });

  it('accepts a correctly signed POST and stores it with its job in one go', async () => {
    const before = await t.counts();
    const res = await post();
    expect(res.status).toBe(202);
    const after = await t.counts();
    expect(after.callback_tests).toBe((before.callback_tests ?? 0) + 1);
    expect(after.jobs).toBeGreaterThanOrEqual((before.jobs ?? 0) + 1);
  });

  it('the bundled client signs calls with a query string', async () => {
    const res = await ch.client.get('/v1/channel?expand=nothing&x=%E7%A7%BB');
    expect(res.status).toBe(200);
  });

  it.each([['x-recard-channel'], ['x-recard-timestamp'], ['x-recard-nonce'], ['x-recard-signature']])(
    'refuses a call without %s',
    async (header) => {
      await expectRefused(() => post({ headers: { [header]: undefined } }), 'auth_header_invalid', header);
    },
  );

  it('refuses malformed signing headers', async () => {
    await expectRefused(
      () => call({ headers: { 'x-recard-timestamp': '17638e5' } }),
      'auth_header_invalid',
      'x-recard-timestamp',
    );
    await expectRefused(() => call({ nonce: 'short' }), 'auth_header_invalid', 'x-recard-nonce');
    await expectRefused(
      () => call({ headers: { 'x-recard-signature': 'ABC' } }),
      'auth_header_invalid',
      'x-recard-signature',
    );
  });

  it('refuses a tampered body, path, query, method or timestamp', async () => {
    await expectRefused(
      () => post({ signed: { body: '{"url":"https://shop-a.example/other"}' } }),
      'signature_invalid',
      'x-recard-signature',
    );
    await expectRefused(() => call({ signed: { pathWithQuery: '/v1/channel?a=1' } }), 'signature_invalid');
    await expectRefused(
      () => call({ path: '/v1/channel?a=2', signed: { pathWithQuery: '/v1/channel?a=1' } }),
      'signature_invalid',
    );
    await expectRefused(() => post({ signed: { method: 'PUT' } }), 'signature_invalid');
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(
      () => call({ timestamp: now, headers: { 'x-recard-timestamp': String(now - 1) } }),
      'signature_invalid',
    );
  });

  it('refuses a signature made with another secret', async () => {
    await expectRefused(() => call({ secret: `${ch.secret}x` }), 'signature_invalid');
  });

  it('refuses an unknown channel', async () => {
    await expectRefused(
      () => call({ channelId: 'ch_00000000000000000000000000' }),
      'channel_unknown',
      'x-recard-channel',
    );
  });

  it('refuses a disabled channel, and accepts it again once enabled', async () => {
    const other = await t.createChannel({ name: 'Shop B' });
    await t.ctx.channels.setStatus(other.id, 'disabled');
    await expectRefused(
      () => rawCall(t.url, { channelId: other.id, secret: other.secret, method: 'GET', path: '/v1/channel' }),
      'channel_disabled',
    );
    await t.ctx.channels.setStatus(other.id, 'active');
    expect((await other.client.get('/v1/channel')).status).toBe(200);
  });

  it('refuses a timestamp more than 300 s off, either way, and accepts one just inside', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(
      () => call({ timestamp: now - 302 }),
      'timestamp_out_of_window',
      'x-recard-timestamp',
    );
    await expectRefused(() => call({ timestamp: now + 302 }), 'timestamp_out_of_window');
    expect((await call({ timestamp: now - 290 })).status).toBe(200);
    expect((await call({ timestamp: now + 290 })).status).toBe(200);
  });

  it('refuses a replayed nonce, even for a different request', async () => {
    const nonce = freshNonce();
    expect((await call({ nonce })).status).toBe(200);
    await expectRefused(() => call({ nonce }), 'nonce_reused', 'x-recard-nonce');
    await expectRefused(() => post({ nonce }), 'nonce_reused');
  });

  it('the same nonce is independent per channel', async () => {
    const other = await t.createChannel({ name: 'Shop C' });
    const nonce = freshNonce();
    expect((await call({ nonce })).status).toBe(200);
    expect(
      (
        await rawCall(t.url, {
          channelId: other.id,
          secret: other.secret,
          method: 'GET',
          path: '/v1/channel',
          nonce,
        })
      ).status,
    ).toBe(200);
  });

  it('a call refused for its signature does not burn the nonce', async () => {
    const nonce = freshNonce();
    await expectRefused(() => call({ nonce, secret: 'wrong' }), 'signature_invalid');
    expect((await call({ nonce })).status).toBe(200);
  });

  it('stores channel secrets so that a database dump does not reveal them', async () => {
    const rows = await sql<Record<string, unknown>>`select * from channels`.execute(t.ctx.storage.db);
    const dump = JSON.stringify(rows.rows);
    expect(dump).not.toContain(ch.secret);
    expect(dump).not.toContain(ch.secret.slice(3));
    expect(dump).not.toContain(ch.webhookSecret.slice(6));
  });

  it('never logs a secret or a signature', async () => {
    await call({ secret: 'definitely-wrong' });
    await post();
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(ch.secret);
    expect(logs).not.toContain(ch.webhookSecret);
    expect(logs).not.toMatch(/[0-9a-f]{64}/);
  });
});
