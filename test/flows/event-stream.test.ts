import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import { routeCardTypesTo } from '../../src/main/demo.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { openSse, openWs, type StreamConnection } from '../harness/stream-clients.js';

/** The live stream over SSE and WebSocket: auth first, live events, resume without a gap or a repeat. */
describe.each(storageTargets())('event stream on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let other: Awaited<ReturnType<TestServer['createChannel']>>;
  let serial = 0;
  const take = cardTaker(() => sims);
  const redeem = async (client = ch.client) => {
    const id = await submitCard(client, take('cmcc_national', 'valid'), `st-${++serial}`);
    // Booked too: each card gives two channel events, order.redeemed then order.settled.
    await settledOrder(client, id, 'settled');
    return id;
  };
  const subjects = (c: StreamConnection) =>
    c.events.filter((e) => e.type === 'order.redeemed').map((e) => e.subject_id);

  beforeAll(async () => {
    sims = await startSimulators({ seed: `stream-${target.name}`, perLabel: { valid: 30 } });
    t = await startTestServer(target, { config: { streamHeartbeatMs: 200 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Console' });
    other = await t.createChannel({ name: 'Other' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it('refuses bad auth with 401 before any event, on both transports', async () => {
    const forged = new RecardClient({ baseUrl: t.url, channelId: ch.id, secret: 'sk_wrong' });
    const sse = await openSse(t.url, forged);
    expect(sse.status).toBe(401);
    expect(JSON.parse(sse.body).error.code).toBe('signature_invalid');
    expect(sse.events).toHaveLength(0);
    const ws = await openWs(t.url, forged);
    expect(ws.status).toBe(401);
    expect(ws.events).toHaveLength(0);
  });

  it('SSE: live events of the channel only, heartbeats, and a resume from Last-Event-ID that misses nothing', async () => {
    const live = await openSse(t.url, ch.client);
    expect(live.status).toBe(200);
    const a = await redeem();
    await redeem(other.client);
    await live.until(2);
    expect(live.events[0]).toMatchObject({ type: 'order.redeemed', subject_id: a, channel_id: ch.id });
    expect(live.events[1]).toMatchObject({ type: 'order.settled', subject_id: a, channel_id: ch.id });
    await new Promise((r) => setTimeout(r, 450));
    expect(live.controls.some((c) => c.startsWith(': heartbeat'))).toBe(true);
    const last = live.events.at(-1)?.sequence ?? 0;
    live.close();

    const b = await redeem();
    const c = await redeem();
    const resumed = await openSse(t.url, ch.client, '/v1/events/stream', { 'last-event-id': String(last) });
    await resumed.until(4);
    const d = await redeem();
    await resumed.until(6);
    expect(subjects(resumed)).toEqual([b, c, d]);
    const seqs = resumed.events.map((e) => e.sequence);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(seqs[0]).toBeGreaterThan(last);
    expect(resumed.events.every((e) => e.channel_id === ch.id)).toBe(true);
    resumed.close();
  });

  it('WebSocket: live events, and a resume with ?after= that misses nothing', async () => {
    const live = await openWs(t.url, ch.client);
    expect(live.status).toBe(101);
    const a = await redeem();
    await live.until(2);
    expect(subjects(live)).toEqual([a]);
    const last = live.events.at(-1)?.sequence ?? 0;
    live.close();
    await live.closed;
    const b = await redeem();
    const resumed = await openWs(t.url, ch.client, `/v1/events/ws?after=${last}`);
    await resumed.until(2);
    const c = await redeem();
    await resumed.until(4);
    expect(subjects(resumed)).toEqual([b, c]);
    resumed.close();
  });

  it('a client that leaves while its backlog is read is not kept', async () => {
    await redeem();
    const before = t.ctx.streams.clients;
    for (let i = 0; i < 5; i++) {
      const c = await openSse(t.url, ch.client, '/v1/events/stream', { 'last-event-id': '0' });
      c.close();
    }
    const { waitFor } = await import('../harness/wait.js');
    await waitFor(
      async () => (t.ctx.streams.clients === before ? true : undefined),
      5000,
      'the clients to be gone',
    );
  });

  it('refuses a Last-Event-ID that is not a sequence', async () => {
    const bad = await openSse(t.url, ch.client, '/v1/events/stream', { 'last-event-id': 'evt_x' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ code: 'invalid_request', field: 'last-event-id' });
  });
});
