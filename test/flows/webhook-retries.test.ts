import { createHash, createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobRuntime } from '../../src/jobs/runtime.js';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { EndpointView } from '../../src/modules/webhooks/index.js';
import { RETRY_SCHEDULE_MS } from '../../src/modules/webhooks/index.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { ShiftedClock } from '../harness/clock.js';
import { silentLogger } from '../harness/logger.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { sleep, waitFor } from '../harness/wait.js';
import { startWebhookReceiver } from '../harness/webhook-receiver.js';

/** Retries on the fixed timetable, moved through with a controllable clock; conventions; rotation. */
describe.each(storageTargets())('callback retries and conventions on $name', (target) => {
  let sims: SimulatorSet;
  let t: TestServer | undefined;
  let serial = 0;
  const take = cardTaker(() => sims);
  const receivers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    sims = await startSimulators({ seed: `webhook-retries-${target.name}`, perLabel: { valid: 20 } });
  });
  afterEach(async () => {
    for (const r of receivers.splice(0)) await r.close();
    await t?.stop();
    t = undefined;
  });
  afterAll(() => sims.close());

  async function setUp(clock?: ShiftedClock) {
    const server = await startTestServer(target, clock ? { clock } : {});
    t = server;
    await routeCardTypesTo(server.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    const ch = await server.createChannel({ name: 'Shop' });
    return { server, ch };
  }

  async function receiver(options: Parameters<typeof startWebhookReceiver>[0]) {
    const r = await startWebhookReceiver(options);
    receivers.push(r);
    return r;
  }

  /** The runtime has put the delivery's job back with its next time: moving the clock now is safe. */
  const retryScheduled = (server: TestServer, attempt: number) =>
    waitFor(
      async () => {
        const jobs = await server.ctx.storage.db
          .selectFrom('jobs')
          .select(['state', 'attempt', 'run_at'])
          .where('kind', '=', 'webhooks.deliver')
          .where('state', '=', 'available')
          .execute();
        return jobs.some((j) => Number(j.attempt) === attempt) || undefined;
      },
      5000,
      `attempt ${attempt} to be rescheduled`,
    );

  const deliveryOf = async (server: TestServer, endpointId: string) => {
    const page = await server.ctx.webhooks.deliveries.list(undefined, {
      endpoint_id: endpointId,
      limit: 100,
    });
    return page.data;
  };

  it('retries on 15 s, 15 s, 30 s, 3 min across a worker restart, then records exactly one success', async () => {
    const clock = new ShiftedClock();
    const { server, ch } = await setUp(clock);
    const opts = { secrets: [ch.webhookSecret], failFirst: 4, checkTimestamp: false };
    const rx = await receiver(opts);
    const ep = await ch.client.post<EndpointView>('/v1/webhook-endpoints', {
      url: rx.url,
      event_types: ['order.redeemed'],
    });
    const order = await submitCard(ch.client, take('cmcc_national', 'valid'), `rt-${++serial}`);
    await settledOrder(ch.client, order, 'redeemed');
    const seen = (n: number) =>
      waitFor(async () => (rx.got.length >= n ? true : undefined), 10_000, `attempt ${n}`);
    await seen(1);

    const first = await waitFor(
      async () => {
        const [d] = await deliveryOf(server, ep.body.id);
        return d?.attempts === 1 ? d : undefined;
      },
      5000,
      'attempt 1 logged',
    );
    expect(first.status).toBe('pending');
    const at1 = Date.parse(first.attempt_log[0]?.at ?? '');
    // Shown as the attempt's end plus the wait: a few ms after the attempt began.
    expect(Date.parse(first.next_attempt_at ?? '') - at1).toBeGreaterThanOrEqual(15_000);
    expect(Date.parse(first.next_attempt_at ?? '') - at1).toBeLessThan(16_000);

    // Not a moment early: 14 s on, nothing is sent.
    await retryScheduled(server, 1);
    clock.advance(14_000);
    await sleep(400);
    expect(rx.got).toHaveLength(1);
    clock.advance(1_000);
    await seen(2);
    await retryScheduled(server, 2);
    clock.advance(15_000);
    await seen(3);
    await retryScheduled(server, 3);

    // The worker goes away in the middle of the schedule; a new one picks the job up where it was.
    await server.server.runtime?.stop(0);
    const runtime = new JobRuntime({
      db: server.ctx.storage.db,
      dialect: server.ctx.storage.dialect,
      handlers: server.ctx.jobHandlers,
      clock,
      logger: silentLogger,
      concurrency: 4,
      pollMs: 20,
      leaseMs: 5000,
    });
    runtime.start();
    try {
      clock.advance(29_000);
      await sleep(400);
      expect(rx.got).toHaveLength(3);
      clock.advance(1_000);
      await seen(4);
      await retryScheduled(server, 4);
      clock.advance(RETRY_SCHEDULE_MS[3] as number);
      await seen(5);
      const done = await waitFor(
        async () => {
          const [d] = await deliveryOf(server, ep.body.id);
          return d?.status === 'succeeded' ? d : undefined;
        },
        5000,
        'the success recorded',
      );
      expect(done.attempts).toBe(5);
      expect(done.next_attempt_at).toBeNull();
      const ats = done.attempt_log.map((a) => Date.parse(a.at));
      const gaps = ats.slice(1).map((at, i) => at - (ats[i] as number));
      RETRY_SCHEDULE_MS.slice(0, 4).forEach((wait, i) => {
        expect(gaps[i]).toBeGreaterThanOrEqual(wait);
        expect(gaps[i]).toBeLessThan(wait + 3000);
      });
      expect(done.attempt_log.map((a) => a.error_code)).toEqual([
        'http_status',
        'http_status',
        'http_status',
        'http_status',
        null,
      ]);
      expect(done.attempt_log.filter((a) => a.error_code === null)).toHaveLength(1);
      expect(rx.got.every((g) => g.verifiedBy.includes(0))).toBe(true);
      // Nothing more is sent once it succeeded, however long one waits.
      clock.advance(7 * 3_600_000);
      await sleep(400);
      expect(rx.got).toHaveLength(5);
      expect(rx.got.filter((g) => g.answered === 200)).toHaveLength(1);
    } finally {
      await runtime.stop(0);
    }
  });

  it('after the last of 16 attempts the delivery is failed and resendable; 3 days of failures disable the endpoint', async () => {
    const clock = new ShiftedClock();
    const { server, ch } = await setUp(clock);
    const opts = { secrets: [ch.webhookSecret], failFirst: 1_000, checkTimestamp: false };
    const rx = await receiver(opts);
    // One event's delivery is followed (a redeemed card goes on to order.settled, a delivery of its own).
    const ep = await ch.client.post<EndpointView>('/v1/webhook-endpoints', {
      url: rx.url,
      event_types: ['order.redeemed'],
    });
    const order = await submitCard(ch.client, take('cmcc_national', 'valid'), `rt-${++serial}`);
    await settledOrder(ch.client, order, 'redeemed');
    const seen = (n: number) =>
      waitFor(async () => (rx.got.length >= n ? true : undefined), 10_000, `attempt ${n}`);
    await seen(1);
    for (const [i, wait] of RETRY_SCHEDULE_MS.entries()) {
      await retryScheduled(server, i + 1);
      clock.advance(wait);
      await seen(i + 2);
    }
    const failed = await waitFor(
      async () => {
        const [d] = await deliveryOf(server, ep.body.id);
        return d?.status === 'failed' ? d : undefined;
      },
      5000,
      'the delivery failed',
    );
    expect(failed.attempts).toBe(RETRY_SCHEDULE_MS.length + 1);
    expect(failed.next_attempt_at).toBeNull();
    const total = RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(23 * 3_600_000);
    expect(total).toBeLessThan(25 * 3_600_000);
    // Still enabled: it has failed for a day, not for three.
    expect((await server.ctx.webhooks.endpoints.get(undefined, ep.body.id)).ok && true).toBe(true);
    const still = await server.ctx.webhooks.endpoints.get(undefined, ep.body.id);
    expect(still.ok && still.value.enabled).toBe(true);
    expect(still.ok && still.value.failing_since).not.toBeNull();

    // Two more days of nothing but failures: the next failed attempt disables it, with an admin event.
    clock.advance(2 * 24 * 3_600_000);
    const again = await server.ctx.webhooks.deliveries.resend(undefined, failed.id);
    expect(again.ok).toBe(true);
    await seen(RETRY_SCHEDULE_MS.length + 2);
    const off = await waitFor(
      async () => {
        const e = await server.ctx.webhooks.endpoints.get(undefined, ep.body.id);
        return e.ok && !e.value.enabled ? e.value : undefined;
      },
      5000,
      'the endpoint disabled',
    );
    expect(off.disabled_reason).toMatch(/^every delivery failed since /);
    // Listed once numbered (on PostgreSQL the sequencer does it just after commit).
    const events = await waitFor(
      async () => {
        const r = await server.ctx.eventQueries.listAll({ type: 'webhook_endpoint.disabled', limit: 10 });
        return r.ok && r.value.data.length > 0 ? r.value.data : undefined;
      },
      5000,
      'the admin event',
    );
    expect(events.map((e) => e.subject_id)).toEqual([ep.body.id]);
    // The channel does not get the admin event.
    expect(server.ctx.eventQueries.channelTypes).not.toContain('webhook_endpoint.disabled');

    // Disabled: a resend fails without a request. Re-enabled: it goes through.
    const sent = rx.got.length;
    const blocked = await server.ctx.webhooks.deliveries.resend(undefined, failed.id);
    const blockedId = blocked.ok ? blocked.value.id : '';
    await waitFor(
      async () => {
        const d = await server.ctx.webhooks.deliveries.get(undefined, blockedId);
        return d.ok && d.value.status === 'failed' ? true : undefined;
      },
      5000,
      'the blocked resend failed',
    );
    expect(rx.got).toHaveLength(sent);
    opts.failFirst = 0;
    const enabled = await server.ctx.webhooks.endpoints.update(undefined, ep.body.id, { enabled: true });
    expect(enabled.ok && enabled.value).toMatchObject({
      enabled: true,
      disabled_reason: null,
      failing_since: null,
    });
    const last = await server.ctx.webhooks.deliveries.resend(undefined, failed.id);
    const lastId = last.ok ? last.value.id : '';
    await waitFor(
      async () => {
        const d = await server.ctx.webhooks.deliveries.get(undefined, lastId);
        return d.ok && d.value.status === 'succeeded' ? true : undefined;
      },
      5000,
      'the resend delivered',
    );
  });

  it('classic notify format: form fields signed as docs/webhooks.md says (HMAC-SHA256, or MD5 set by an admin), and the `success` convention', async () => {
    const { server, ch } = await setUp();
    const patched = await server.admin('PATCH', `/admin/v1/channels/${ch.id}`, {
      callbacks: { format: 'classic_form', ack: 'success_body' },
    });
    expect(patched.status).toBe(200);
    const opts = { body: 'success' };
    const rx = await receiver(opts);
    await ch.client.post('/v1/webhook-endpoints', { url: rx.url, event_types: ['order.redeemed'] });
    const card = take('cmcc_national', 'valid');
    const order = await submitCard(ch.client, card, `rt-${++serial}`, { attach: 'basket-9' });
    await settledOrder(ch.client, order, 'redeemed');
    await waitFor(async () => rx.got.length >= 1 || undefined, 10_000, 'the notify');
    const got = rx.got[0];
    expect(got?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const fields = Object.fromEntries(new URLSearchParams(got?.body ?? ''));
    expect(fields).toMatchObject({
      event_type: 'order.redeemed',
      order_id: order,
      status: 'redeemed',
      attach: 'basket-9',
      sign_type: 'HMAC-SHA256',
    });
    expect(fields.card_number).not.toContain(card.number);
    // A merchant's check, written from the docs: sorted non-empty fields but sign, then key=SECRET.
    const signingString = (f: Record<string, string>) =>
      `${Object.keys(f)
        .filter((k) => k !== 'sign' && k !== 'sign_previous' && f[k] !== '')
        .sort()
        .map((k) => `${k}=${f[k]}`)
        .join('&')}&key=${ch.webhookSecret}`;
    expect(fields.sign).toBe(
      createHmac('sha256', ch.webhookSecret).update(signingString(fields)).digest('hex').toUpperCase(),
    );

    // MD5 only when an admin sets it for the channel.
    await server.admin('PATCH', `/admin/v1/channels/${ch.id}`, { callbacks: { sign_type: 'MD5' } });
    const second = await submitCard(ch.client, take('cmcc_national', 'valid'), `rt-${++serial}`);
    await settledOrder(ch.client, second, 'redeemed');
    await waitFor(async () => rx.got.length >= 2 || undefined, 10_000, 'the MD5 notify');
    const md5Fields = Object.fromEntries(new URLSearchParams(rx.got[1]?.body ?? ''));
    expect(md5Fields.sign_type).toBe('MD5');
    expect(md5Fields.sign).toBe(
      createHash('md5').update(signingString(md5Fields)).digest('hex').toUpperCase(),
    );

    // Under the convention a 200 without `success` is not an acknowledgement: logged and retried.
    opts.body = 'OK';
    const third = await submitCard(ch.client, take('cmcc_national', 'valid'), `rt-${++serial}`);
    await settledOrder(ch.client, third, 'redeemed');
    await waitFor(async () => rx.got.length >= 3 || undefined, 10_000, 'the third notify');
    const eventId = String(rx.got[2]?.headers['webhook-id']);
    const pending = await waitFor(
      async () => {
        const page = await server.ctx.webhooks.deliveries.list(undefined, { event_id: eventId, limit: 5 });
        const d = page.data[0];
        return d && d.attempts === 1 ? d : undefined;
      },
      5000,
      'the attempt logged',
    );
    expect(pending.status).toBe('pending');
    expect(pending.attempt_log[0]).toMatchObject({
      status_code: 200,
      error_code: 'not_acknowledged',
      response_head: 'OK',
    });
    const wait = Date.parse(pending.next_attempt_at ?? '') - Date.parse(pending.attempt_log[0]?.at ?? '');
    expect(wait).toBeGreaterThanOrEqual(15_000);
    expect(wait).toBeLessThan(16_000);
  });

  it('secret rotation: both webhook signatures during the overlap; old and new API secrets both verify until it ends', async () => {
    const { server, ch } = await setUp();
    const rotated = await ch.client.post<{ secret: string; previous_valid_until: string }>(
      '/v1/channel/secrets/rotate',
      {
        kind: 'webhook',
        overlap_s: 600,
      },
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    const rx = await receiver({ secrets: [ch.webhookSecret, rotated.body.secret] });
    await ch.client.post('/v1/webhook-endpoints', { url: rx.url, event_types: ['order.redeemed'] });
    const order = await submitCard(ch.client, take('cmcc_national', 'valid'), `rt-${++serial}`);
    await settledOrder(ch.client, order, 'redeemed');
    await waitFor(async () => rx.got.length >= 1 || undefined, 10_000, 'the callback');
    expect(rx.got[0]?.verifiedBy).toEqual([0, 1]);
    expect(String(rx.got[0]?.headers['webhook-signature']).split(' ')).toHaveLength(2);

    // API secret, by an admin, with a short overlap.
    const api = (await server.admin('POST', `/admin/v1/channels/${ch.id}/secrets/rotate`, {
      kind: 'api',
      overlap_s: 2,
    })) as unknown as { status: number; body: { secret: string; previous_valid_until: string } };
    expect(api.status).toBe(200);
    const { RecardClient } = await import('../../src/client/client.js');
    const fresh = new RecardClient({ baseUrl: server.url, channelId: ch.id, secret: api.body.secret });
    expect((await fresh.get('/v1/channel')).status).toBe(200);
    expect((await ch.client.get('/v1/channel')).status).toBe(200);
    const view = (await fresh.get<{ previous_secret_valid_until: { api: string | null } }>('/v1/channel'))
      .body;
    expect(view.previous_secret_valid_until.api).toBe(api.body.previous_valid_until);
    await sleep(Date.parse(api.body.previous_valid_until) - Date.now() + 1100);
    const old = await ch.client.get<{ error: { code: string } }>('/v1/channel');
    expect(old.status).toBe(401);
    expect(old.body.error.code).toBe('signature_invalid');
    expect((await fresh.get('/v1/channel')).status).toBe(200);
  });
});
