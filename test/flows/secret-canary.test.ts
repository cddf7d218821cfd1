import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientResponse } from '../../src/client/client.js';
import { startBossSimulator } from '../../src/simulators/soap-boss.js';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/** Values that must never appear outside the encrypted column: not in a log line, not in an answer. */
const CANARY_NUMBER = '13579246801357924';
const CANARY_SECRET = '864209753186420975';
const CANARY_BAD_NUMBER = 'CANARYNUMBER-9Z9Z9Z';
const CANARY_BAD_SECRET = 'CANARYSECRET-8Y8Y8Y';

describe.each(storageTargets())('no card number or secret leaks, on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: true, config: { logLevel: 'trace' } });
  });
  afterAll(() => t.stop());

  it('through every intake endpoint, on success and on every refusal', async () => {
    const ch = await t.createChannel();
    const other = await t.createChannel();
    const answers: ClientResponse[] = [];
    const keep = async (p: Promise<ClientResponse>) => {
      const r = await p;
      answers.push(r);
      return r;
    };
    const body = mobileOrder({ card_number: CANARY_NUMBER, card_secret: CANARY_SECRET });

    const created = await keep(ch.client.post('/v1/orders', body));
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await keep(ch.client.post('/v1/orders', body))).status).toBe(200); // idempotent repeat
    await keep(ch.client.post('/v1/orders', { ...body, declared_face_value: 5000 })); // idempotency conflict
    await keep(ch.client.post('/v1/orders', { ...body, merchant_order_id: 'dup' })); // duplicate card
    await keep(other.client.post('/v1/orders', { ...body, merchant_order_id: 'dup-2' })); // duplicate elsewhere
    await keep(ch.client.post('/v1/orders', { ...mobileOrder(), card_number: CANARY_BAD_NUMBER })); // bad number
    await keep(ch.client.post('/v1/orders', { ...mobileOrder(), card_secret: CANARY_BAD_SECRET })); // bad secret
    await keep(
      ch.client.post('/v1/orders', {
        ...mobileOrder(),
        card_secret: `${CANARY_BAD_SECRET}${'9'.repeat(80)}`,
      }),
    ); // too long
    await keep(ch.client.post('/v1/orders', { ...body, merchant_order_id: 'x', declared_face_value: 123 })); // face value
    await keep(ch.client.post('/v1/orders', { ...body, merchant_order_id: 'y', card_type: 'nope' })); // card type
    await keep(ch.client.post('/v1/orders', { ...body, merchant_order_id: 'z', unexpected: CANARY_SECRET })); // unknown field
    await keep(ch.client.get(`/v1/orders/${id}`));
    await keep(other.client.get(`/v1/orders/${id}`));
    await keep(ch.client.get(`/v1/orders?merchant_order_id=${body.merchant_order_id}`));
    await keep(ch.client.get('/v1/orders?limit=100'));
    await keep(ch.client.get('/v1/card-types'));
    answers.push({
      status: 200,
      headers: new Headers(),
      body: await (await fetch(`${t.url}/metrics`)).text(),
    });

    const everything = [
      ...answers.map((a) => JSON.stringify(a.body) + JSON.stringify([...a.headers])),
      ...t.logs,
    ].join('\n');
    // Every request left its access line, so there was something to search.
    expect(t.logs.filter((l) => l.includes('request completed')).length).toBeGreaterThanOrEqual(
      answers.length - 1,
    );
    for (const canary of [CANARY_NUMBER, CANARY_SECRET, CANARY_BAD_NUMBER, CANARY_BAD_SECRET]) {
      expect(everything, canary).not.toContain(canary);
    }
    // The stored card is intact and readable by the issuer gateway only.
    expect(await t.ctx.orders.revealCard(id)).toEqual({ number: CANARY_NUMBER, secret: CANARY_SECRET });
  });

  it('through verification: inquiry, a redeem that times out, the lookup, the admin and metrics answers', async () => {
    const number = '24681357902468135';
    const secret = '975318642097531864';
    const sim = await startBossSimulator({
      issuer: 'china_mobile',
      cards: [
        {
          cardType: 'cmcc_national',
          number,
          secret,
          faceValue: 10_000,
          balance: 10_000,
          state: 'valid',
          expiresOn: '2029-12-31',
          label: 'valid',
          declaredFaceValue: 10_000,
        },
      ],
      // The first redeem hangs past the route timeout: the worker logs, looks up and tries again.
      faults: { timeoutRate: 1, hangMs: 1000, operations: ['redeem'] },
    });
    try {
      await t.ctx.issuerAdmin.putRoute('canary_route', {
        card_type: 'cmcc_national',
        issuer: 'china_mobile',
        protocol: 'soap',
        endpoint: `${sim.url}/boss/CardService`,
        priority: 0,
        capacity_per_minute: 1000,
        timeout_ms: 300,
        max_concurrency: 4,
        poll_ms: 100,
        enabled: true,
      });
      const ch = await t.createChannel();
      const created = await ch.client.post<{ id: string }>(
        '/v1/orders',
        mobileOrder({ card_number: number, card_secret: secret }),
      );
      expect(created.status).toBe(201);
      // Wait for the worker to have seen a redeem time out (the simulator carries out only half of
      // those, so its redeem counter may stay at zero).
      await waitFor(
        async () => t.logs.some((l) => l.includes('redeem outcome unknown')),
        30_000,
        'a redeem to time out',
      );
      sim.setFaults({ timeoutRate: 0 });
      // Retries back off by seconds; a loaded CI machine has needed more than 10 s here.
      const done = await waitFor(
        async () => {
          const o = await ch.client.get<{ status: string }>(`/v1/orders/${created.body.id}`);
          return ['redeemed', 'settled', 'paid'].includes(o.body.status) ? o : undefined;
        },
        30_000,
        'the canary order to be redeemed',
      );
      const admin = await t.admin('GET', '/admin/v1/issuer-routes');
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      const jobs = await t.ctx.storage.db.selectFrom('jobs').select(['payload', 'last_error']).execute();
      const everything = [
        JSON.stringify(done.body),
        admin.text,
        metrics,
        JSON.stringify(jobs),
        ...t.logs,
      ].join('\n');
      expect(t.logs.some((l) => l.includes('redeem outcome unknown'))).toBe(true);
      for (const canary of [number, secret]) expect(everything, canary).not.toContain(canary);
    } finally {
      await sim.close();
    }
  }, 60_000);
});
