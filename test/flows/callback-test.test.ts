import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRuntime } from '../../src/jobs/runtime.js';
import { getJob } from '../../src/jobs/store.js';
import type { CallbackTestView } from '../../src/modules/webhooks/model.js';
import { verifyWebhook } from '../../src/modules/webhooks/signing.js';
import { testDeliveryHandler } from '../../src/modules/webhooks/worker.js';
import { silentLogger } from '../harness/logger.js';
import { startReceiver } from '../harness/receiver.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

describe.each(storageTargets())('test callbacks on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;

  beforeAll(async () => {
    t = await startTestServer(target);
    ch = await t.createChannel();
  });
  afterAll(() => t.stop());

  const poll = (id: string, status: string) =>
    waitFor(
      async () => {
        const res = await ch.client.get<CallbackTestView>(`/v1/callback-tests/${id}`);
        return res.body.status === status ? res.body : null;
      },
      15_000,
      `callback test ${id} to be ${status}`,
    );

  it('a signed call is stored, queued and delivered by the worker with a Standard Webhooks signature', async () => {
    const receiver = await startReceiver([204]);
    try {
      const res = await ch.client.post<CallbackTestView>('/v1/callback-tests', { url: receiver.url });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        status: 'queued',
        url: receiver.url,
        attempts: 0,
        delivered_at: null,
      });
      expect(res.body.id).toMatch(/^cbt_/);

      const done = await poll(res.body.id, 'delivered');
      expect(done.attempts).toBe(1);
      expect(done.last_status_code).toBe(204);
      expect(done.delivered_at).not.toBeNull();

      const [got] = receiver.received;
      expect(got).toBeDefined();
      const msg = {
        id: String(got?.headers['webhook-id']),
        timestamp: Number(got?.headers['webhook-timestamp']),
        body: got?.body ?? '',
      };
      expect(msg.id).toBe(res.body.id);
      expect(verifyWebhook(ch.webhookSecret, msg, String(got?.headers['webhook-signature']))).toBe(true);
      expect(
        verifyWebhook(
          ch.webhookSecret,
          { ...msg, body: `${msg.body} ` },
          String(got?.headers['webhook-signature']),
        ),
      ).toBe(false);
      expect(JSON.parse(msg.body)).toMatchObject({
        type: 'callback.test',
        data: { callback_test_id: res.body.id, channel_id: ch.id },
      });
    } finally {
      await receiver.close();
    }
  });

  it('a failed delivery is retried with backoff until the channel answers 2xx', async () => {
    const receiver = await startReceiver([500, 200]);
    try {
      const res = await ch.client.post<CallbackTestView>('/v1/callback-tests', { url: receiver.url });
      const done = await poll(res.body.id, 'delivered');
      expect(done.attempts).toBe(2);
      expect(done.last_status_code).toBe(200);
      expect(receiver.received).toHaveLength(2);
      // Retries carry the same message id, so the channel can drop duplicates.
      expect(receiver.received[0]?.headers['webhook-id']).toBe(receiver.received[1]?.headers['webhook-id']);
    } finally {
      await receiver.close();
    }
  });

  it("uses the channel's callback URL when none is given", async () => {
    const receiver = await startReceiver([200]);
    try {
      const withUrl = await t.createChannel({ callback_url: receiver.url });
      const res = await withUrl.client.post<CallbackTestView>('/v1/callback-tests', {});
      expect(res.status).toBe(202);
      expect(res.body.url).toBe(receiver.url);
      await waitFor(() => receiver.received.length === 1);
    } finally {
      await receiver.close();
    }
  });

  it("a channel cannot see another channel's callback test", async () => {
    const res = await ch.client.post<CallbackTestView>('/v1/callback-tests', { url: 'http://127.0.0.1:9/' });
    const other = await t.createChannel();
    const peek = await other.client.get<{ error: { code: string } }>(`/v1/callback-tests/${res.body.id}`);
    expect(peek.status).toBe(404);
    expect(peek.body.error.code).toBe('resource_not_found');
  });

  it('when every attempt fails the callback test ends failed, with the job dead', async () => {
    // A separate runtime with a short schedule, on the same database: the handler under test is the real one.
    await t.server.runtime?.stop(0);
    const receiver = await startReceiver([503]);
    const runtime = new JobRuntime({
      db: t.ctx.storage.db,
      dialect: t.ctx.storage.dialect,
      handlers: [
        testDeliveryHandler({
          db: t.ctx.storage.db,
          channels: t.ctx.channels,
          clock: t.ctx.clock,
          guard: t.ctx.outbound,
          userAgent: 'test',
          backoff: { baseMs: 10, capMs: 20 },
        }),
      ],
      clock: t.ctx.clock,
      logger: silentLogger,
      concurrency: 2,
      pollMs: 10,
      leaseMs: 2000,
    });
    runtime.start();
    try {
      const res = await ch.client.post<CallbackTestView>('/v1/callback-tests', { url: receiver.url });
      const failed = await poll(res.body.id, 'failed');
      expect(failed.attempts).toBe(6);
      expect(failed.last_status_code).toBe(503);
      expect(failed.last_error).toBe('answered HTTP 503');
      const job = await t.ctx.storage.db
        .selectFrom('jobs')
        .selectAll()
        .where('payload', 'like', `%${res.body.id}%`)
        .executeTakeFirst();
      expect((await getJob(t.ctx.storage.db, job?.id ?? ''))?.state).toBe('dead');
    } finally {
      await runtime.stop(0);
      await receiver.close();
    }
  });
});
