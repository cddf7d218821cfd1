import { connect } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall, send } from '../harness/http.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

describe.each(storageTargets())('error answers on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;

  beforeAll(async () => {
    t = await startTestServer(target, { config: { bodyLimitBytes: 4096 } });
    ch = await t.createChannel();
  });
  afterAll(() => t.stop());

  const signedGet = (path: string) =>
    rawCall(t.url, { channelId: ch.id, secret: ch.secret, method: 'GET', path });
  const post = (body: string, headers: Record<string, string | undefined> = {}) =>
    rawCall(t.url, {
      channelId: ch.id,
      secret: ch.secret,
      method: 'POST',
      path: '/v1/callback-tests',
      body,
      headers,
    });

  const expectError = (call: () => ReturnType<typeof send>, status: number, code: string, field?: string) =>
    expectRefusal(t, call, { status, code, ...(field !== undefined ? { field } : {}), nonceSpent: true });

  it('validation: a field of the wrong format names the field', async () => {
    const res = await expectError(() => post('{"url":"not a url"}'), 400, 'invalid_request', 'url');
    expect(res.body.error?.message).toContain('url');
  });

  it('a NUL character in a query or path parameter is 400 naming it, never a 500 from the database', async () => {
    // Found by the schema fuzz on PostgreSQL, which refuses NUL in text.
    for (const path of [
      '/admin/v1/payouts?channel_id=%00',
      '/admin/v1/settlement-batches?channel_id=a%00b',
    ]) {
      const res = await t.admin('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'query.channel_id' });
    }
    const order = await signedGet('/v1/orders/ord_%00');
    expect(order.status).toBe(400);
    expect(order.body.error).toMatchObject({ code: 'invalid_request', field: 'params.id' });
  });

  it('validation: a field of the wrong type is not coerced', async () => {
    await expectError(() => post('{"url":12345}'), 400, 'invalid_request', 'url');
  });

  it('validation: an unknown field is refused, not silently dropped', async () => {
    const res = await expectError(() => post('{"ur1":"https://x.example/"}'), 400, 'invalid_request', 'ur1');
    expect(res.body.error?.message).toBe('ur1 is not a known field.');
  });

  it('validation: a body that is not an object', async () => {
    await expectError(() => post('[1,2]'), 400, 'invalid_request', 'body');
  });

  it('validation: a path parameter of the wrong shape names the parameter', async () => {
    await expectError(() => signedGet('/v1/callback-tests/nope'), 400, 'invalid_request', 'params.id');
  });

  it('an unknown route is 404 route_not_found, before any authentication', async () => {
    await expectError(() => send(t.url, 'GET', '/v1/nothing-here'), 404, 'route_not_found');
    await expectError(() => send(t.url, 'GET', '/'), 404, 'route_not_found');
  });

  it('an unknown object of the caller is 404 resource_not_found', async () => {
    await expectError(
      () => signedGet('/v1/callback-tests/cbt_00000000000000000000000000'),
      404,
      'resource_not_found',
      'id',
    );
  });

  it('a known path with the wrong method is 405 with an Allow header', async () => {
    const res = await expectError(() => send(t.url, 'DELETE', '/v1/channel'), 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe('GET');
    const res2 = await expectError(
      () => send(t.url, 'PUT', '/v1/callback-tests/cbt_00000000000000000000000000'),
      405,
      'method_not_allowed',
    );
    expect(res2.headers.get('allow')).toBe('GET');
  });

  it('a body over the limit is 413', async () => {
    const big = JSON.stringify({ url: `https://x.example/${'a'.repeat(5000)}` });
    await expectError(() => post(big), 413, 'payload_too_large');
  });

  it('a huge declared body is cut off with 413 at once, without reading the rest', async () => {
    const port = Number(new URL(t.url).port);
    const answer = await new Promise<{ head: string; closed: boolean; elapsedMs: number }>(
      (resolve, reject) => {
        const started = Date.now();
        const socket = connect(port, '127.0.0.1');
        let data = '';
        socket.on('connect', () => {
          socket.write(
            'POST /v1/callback-tests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"url":"',
          );
        });
        socket.on('data', (chunk) => {
          data += chunk.toString();
        });
        socket.on('close', () => resolve({ head: data, closed: true, elapsedMs: Date.now() - started }));
        socket.on('error', reject);
        socket.setTimeout(5000, () => reject(new Error('server waited for the body instead of refusing it')));
      },
    );
    expect(answer.head).toMatch(/^HTTP\/1\.1 413/);
    expect(answer.head.toLowerCase()).toContain('connection: close');
    expect(answer.head).toContain('"code":"payload_too_large"');
    expect(answer.closed).toBe(true);
  });

  it('a body of another content type is 415', async () => {
    await expectError(
      () => post('url=https://x.example/', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    await expectError(() => post('hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('malformed JSON, an empty JSON body and prototype poisoning are 400 malformed_json', async () => {
    await expectError(() => post('{"url": "https://x.example/"'), 400, 'malformed_json');
    await expectError(() => post('', { 'content-type': 'application/json' }), 400, 'malformed_json');
    await expectError(
      () => send(t.url, 'POST', '/v1/callback-tests', { 'content-type': 'application/json' }, ''),
      401,
      'auth_header_invalid',
    );
    await expectError(() => post('{"__proto__":{"polluted":true}}'), 400, 'malformed_json');
    await expectError(() => post('{"constructor":{"prototype":{"polluted":true}}}'), 400, 'malformed_json');
  });

  it('an unauthenticated body is not even parsed: malformed JSON without a signature is 401', async () => {
    await expectError(
      () => send(t.url, 'POST', '/v1/callback-tests', { 'content-type': 'application/json' }, '{oops'),
      401,
      'auth_header_invalid',
    );
  });

  it('a caller-supplied request id is kept when well-formed and replaced when not', async () => {
    const kept = await send(t.url, 'GET', '/v1/nothing', { 'x-request-id': 'shop-a.trace-42' });
    expect(kept.body.error?.request_id).toBe('shop-a.trace-42');
    const replaced = await send(t.url, 'GET', '/v1/nothing', { 'x-request-id': 'bad id with spaces' });
    expect(replaced.body.error?.request_id).toMatch(/^req_/);
  });

  it('an internal failure is 500 internal_error without stack or SQL, and is logged with its cause', async () => {
    await sql`drop table callback_tests`.execute(t.ctx.storage.db);
    const res = await post('{"url":"https://x.example/"}');
    expect(res.status).toBe(500);
    expect(res.body.error?.code).toBe('internal_error');
    expect(res.text).not.toMatch(/callback_tests|insert|sqlite|postgres|relation|\bat\s|\.ts:/i);
    const requestId = res.body.error?.request_id ?? '';
    const logged = t.logs.find((l) => l.includes(requestId) && l.includes('unhandled error'));
    expect(logged).toBeDefined();
    expect(logged).toMatch(/callback_tests/);
  });
});
