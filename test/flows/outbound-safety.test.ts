import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURED_INTERNAL_HOSTS } from '../fixtures/internal-hosts.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * The SSRF matrix measured against the old code, probed from outside as a channel would: every
 * internal address in every spelling is refused when registered, and nothing reaches the listener.
 * This server runs without RECARD_OUTBOUND_ALLOWLIST, as production does.
 */
describe.each(storageTargets())('outbound safety on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let hits = 0;
  let port = 0;
  const listener = createServer((_req, res) => {
    hits++;
    res.writeHead(200).end('ok');
  });

  beforeAll(async () => {
    await new Promise<void>((r) => listener.listen(0, '0.0.0.0', r));
    port = (listener.address() as AddressInfo).port;
    t = await startTestServer(target, { config: { outboundAllowlist: '' } });
    ch = await t.createChannel();
  });
  afterAll(async () => {
    await t.stop();
    await new Promise<void>((r) => listener.close(() => r()));
  });

  const hosts = () => MEASURED_INTERNAL_HOSTS;

  it('refuses every internal address as an endpoint and as a test callback; nothing is sent', async () => {
    for (const host of hosts()) {
      const url = `http://${host}:${port}/probe`;
      await expectRefusal(t, () => ch.client.post('/v1/webhook-endpoints', { url, event_types: ['*'] }), {
        status: 400,
        code: 'url_address_refused',
        field: 'url',
        nonceSpent: true,
      });
      await expectRefusal(t, () => ch.client.post('/v1/callback-tests', { url }), {
        status: 400,
        code: 'url_address_refused',
        field: 'url',
        nonceSpent: true,
      });
    }
    // Recard's own admin API, by the address it listens on.
    const own = new URL(t.url);
    await expectRefusal(
      t,
      () =>
        ch.client.post('/v1/webhook-endpoints', {
          url: `http://${own.hostname}:${own.port}/admin/v1/channels`,
          event_types: ['*'],
        }),
      { status: 400, code: 'url_address_refused', field: 'url', nonceSpent: true },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(hits).toBe(0);
  });

  it('refuses them when an admin registers an endpoint too, and loopback is not allowed by default', async () => {
    for (const host of hosts()) {
      const res = await t.admin('POST', '/admin/v1/webhook-endpoints', {
        channel_id: ch.id,
        url: `https://${host}:${port}/probe`,
        event_types: ['*'],
      });
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('url_address_refused');
    }
    expect(t.ctx.config.outboundAllowlist).toBe('');
    expect(hits).toBe(0);
  });

  it('a stored URL that turns internal is refused at delivery, with a message that maps nothing', async () => {
    // As if DNS changed after registration: the row points inside; the delivery must not go there.
    const now = Date.now();
    await t.ctx.storage.db
      .insertInto('webhook_endpoints')
      .values({
        id: 'we_00000000000000000000000000',
        channel_id: ch.id,
        url: `http://127.0.0.1:${port}/probe`,
        event_types: '["*"]',
        enabled: 1,
        description: null,
        disabled_reason: null,
        failing_since: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const r = await ch.client.post<{ data: { id: string }[] }>(
      `/v1/events/evt_00000000000000000000000000/resend`,
      {},
    );
    expect(r.status).toBe(404);
    const { deliveries } = t.ctx.webhooks;
    // A delivery to the stored row, through the real delivery job.
    const event = await t.ctx.storage.db.transaction().execute(async (trx) => {
      const { ORDER_EVENT_TYPES } = await import('../../src/modules/orders/index.js');
      const spec = ORDER_EVENT_TYPES.find((s) => s.type === 'order.redeemed');
      if (!spec) throw new Error('no order.redeemed');
      return t.ctx.events.append(trx, {
        spec,
        channelId: ch.id,
        subjectId: 'ord_00000000000000000000000000',
        data: spec.example as never,
        nowMs: now,
      });
    });
    const sent = await deliveries.resendEvent(ch.id, event.id);
    const id = sent.ok ? sent.value[0]?.id : undefined;
    expect(id).toBeDefined();
    const { waitFor } = await import('../harness/wait.js');
    const d = await waitFor(
      async () => {
        const v = await deliveries.get(ch.id, id as string);
        return v.ok && v.value.attempts >= 1 ? v.value : undefined;
      },
      10_000,
      'the refused attempt',
    );
    expect(d.attempt_log[0]).toMatchObject({
      status_code: null,
      error_code: 'address_refused',
      error: 'The address is in an internal or reserved range; Recard does not call it.',
    });
    expect(hits).toBe(0);
  });
});
