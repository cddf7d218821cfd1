import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../harness/http.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

describe.each(storageTargets())('operations endpoints on $name', (target) => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('/healthz answers while the process lives', async () => {
    t = await startTestServer(target);
    const res = await send(t.url, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/readyz checks the database, the migrations and the worker', async () => {
    t = await startTestServer(target);
    const res = await send(t.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.ready).toBe(true);
    expect((res.body.checks as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([
      ['database', true],
      ['migrations', true],
      ['worker', true],
    ]);
    await t.server.runtime?.stop(0);
    const stopped = await send(t.url, 'GET', '/readyz');
    expect(stopped.status).toBe(503);
    expect(stopped.body.ready).toBe(false);
  });

  it('/readyz without an in-process worker is ready and says so', async () => {
    t = await startTestServer(target, { worker: false });
    const res = await send(t.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).toContain('--no-worker');
  });

  it('/readyz is 503 when the database is gone, without leaking driver text', async () => {
    t = await startTestServer(target, { worker: false });
    await t.ctx.storage.close();
    const res = await send(t.url, 'GET', '/readyz');
    expect(res.status).toBe(503);
    expect(res.text).toContain('see the server log');
    // reopen nothing: stop() closes again, which both drivers tolerate
  });

  it('writes one access line per request: method, route template, status, time and channel; never the query', async () => {
    t = await startTestServer(target);
    const ch = await t.createChannel();
    const res = await ch.client.get('/v1/orders?merchant_order_id=query-value-77');
    const requestId = res.headers.get('x-request-id') ?? '';
    const lines = t.logs
      .filter((l) => l.includes(requestId))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      method: 'GET',
      route: '/v1/orders',
      status: 200,
      channel_id: ch.id,
    });
    expect(typeof lines[0]?.ms).toBe('number');
    expect(t.logs.join('\n')).not.toContain('query-value-77');
    await send(t.url, 'GET', '/healthz');
    expect(t.logs.some((l) => l.includes('/healthz'))).toBe(false);
  });

  it('/metrics shows request counts, latencies and jobs by state', async () => {
    t = await startTestServer(target);
    const ch = await t.createChannel();
    await ch.client.get('/v1/channel');
    await ch.client.post('/v1/callback-tests', { url: 'http://127.0.0.1:9/' });
    const res = await fetch(`${t.url}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(text).toMatch(/recard_http_requests_total\{method="GET",route="\/v1\/channel",status="200"\} 1/);
    expect(text).toContain('recard_http_request_duration_seconds_bucket');
    expect(text).toMatch(/recard_jobs\{state="(available|running|succeeded|dead)"\} [1-9]/);
    expect(text).toContain('recard_process_cpu_seconds_total');
  });

  it('/openapi.json documents the routes, their errors and the signing scheme; /docs serves a reference', async () => {
    t = await startTestServer(target);
    const res = await send(t.url, 'GET', '/openapi.json');
    type Op = {
      security?: unknown[];
      parameters?: { name: string; in: string; required?: boolean }[];
      responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
    };
    const spec = res.body as unknown as {
      openapi: string;
      paths: Record<string, Record<string, Op>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
      webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
    };
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/channel',
        '/v1/orders',
        '/v1/events',
        '/v1/callback-tests/{id}',
        '/healthz',
        '/readyz',
      ]),
    );
    // Named schemas once, referenced everywhere.
    expect(Object.keys(spec.components.schemas)).toEqual(
      expect.arrayContaining(['Order', 'Error', 'OrderPrice', 'Channel', 'OrderRedeemedEvent']),
    );
    const submit = spec.paths['/v1/orders']?.post;
    expect(submit?.responses['201']?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/Order',
    });
    expect(submit?.responses['409']?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/Error',
    });
    const text = JSON.stringify(spec);
    expect(text.match(/"title":"Order"/g)).toHaveLength(1);
    // Every status an operation can answer, each with a description of its own.
    expect(Object.keys(submit?.responses ?? {}).sort()).toEqual(
      ['200', '201', '400', '401', '403', '405', '409', '413', '415', '422', '429', '500', '503'].sort(),
    );
    expect(Object.keys(spec.paths['/v1/quotes']?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['422', '503']),
    );
    expect(text).not.toContain('Default Response');
    // The four signing headers together; open routes say they are open.
    expect(submit?.security).toEqual([
      { channelId: [], requestTimestamp: [], requestNonce: [], requestSignature: [] },
    ]);
    for (const scheme of ['channelId', 'requestTimestamp', 'requestNonce', 'requestSignature', 'adminToken'])
      expect(spec.components.securitySchemes[scheme]).toBeDefined();
    expect(spec.paths['/healthz']?.get?.security).toEqual([]);
    expect(spec.paths['/admin/v1/events']?.get?.security).toEqual([{ adminToken: [] }]);
    // A field with a default is not required.
    const limit = spec.paths['/v1/orders']?.get?.parameters?.find((p) => p.name === 'limit');
    expect(limit?.required ?? false).toBe(false);
    // Events a channel receives, under `webhooks`; internal ones are not there.
    expect(Object.keys(spec.webhooks)).toEqual(
      expect.arrayContaining(['order.redeemed', 'order.invalid', 'order.review']),
    );
    expect(spec.webhooks['order.submitted']).toBeUndefined();
    const docs = await fetch(`${t.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});
