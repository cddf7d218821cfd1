import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/** A callback endpoint that answers nothing until told to: every delivery to it holds a worker slot. */
async function startStallingReceiver() {
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slow`,
    held,
    releaseAll() {
      for (const res of held.splice(0)) res.writeHead(200).end();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Issue 10 measured 40 test callbacks to a slow endpoint raising another order's submit → redeemed
 * from 0.55 s to 23.5 s: callback attempts held all 8 worker slots. Each job kind has its own slots now.
 */
describe.each(storageTargets())('job isolation on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let receiver: Awaited<ReturnType<typeof startStallingReceiver>>;

  beforeAll(async () => {
    sims = await startSimulators({ seed: `isolation-${target.name}`, perLabel: { valid: 4 } });
    receiver = await startStallingReceiver();
    // Deliveries wait up to 20 s for an answer: longer than this test runs.
    t = await startTestServer(target, { config: { workerConcurrency: 8, callbackTimeoutMs: 20_000 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
  });
  afterAll(async () => {
    receiver.releaseAll();
    await t.stop();
    await receiver.close();
    await sims.close();
  });

  it('a card is redeemed while 40 callbacks to a stalled endpoint hold every callback slot', async () => {
    const ch = await t.createChannel({ name: 'Busy shop' });
    for (let i = 0; i < 40; i++) {
      const res = await ch.client.post('/v1/callback-tests', { url: receiver.url });
      expect(res.status).toBe(202);
    }
    // The callback kind runs as many deliveries as its slots allow, and they all hang.
    await waitFor(async () => receiver.held.length >= 8, 10_000, 'callback deliveries to hang');
    const card = sims.cards.find((c) => c.label === 'valid' && c.cardType === 'cmcc_national');
    if (!card) throw new Error('no card');
    const id = await submitCard(ch.client, card, 'iso-1');
    const redeemed = await settledOrder(ch.client, id, 'redeemed', 10_000);
    expect(['redeemed', 'settled']).toContain(redeemed.status);
    // No callback was answered meanwhile: verification did not wait for a single slot to free up.
    expect(receiver.held.length).toBeGreaterThanOrEqual(8);
    expect(
      await t.ctx.storage.db
        .selectFrom('callback_tests')
        .select('id')
        .where('status', '=', 'delivered')
        .execute(),
    ).toEqual([]);
  });
});
