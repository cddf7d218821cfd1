import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { createProbeTable, probeRows, probeSubscriber } from '../fixtures/probe-subscriber.js';
import { spawnReady } from '../harness/processes.js';
import { startTestServer, type TestServer, workerEnv } from '../harness/server.js';
import { submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { sleep, waitFor } from '../harness/wait.js';

const ORDERS = 30;
const KILLS = 6;

/**
 * The backbone's promise across crashes: a subscriber gets every event exactly once, one order's
 * events in sequence order, while its worker process is killed with SIGKILL again and again.
 */
describe.each(storageTargets())('a subscriber across kill -9 of its worker on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sims = await startSimulators({ seed: `crash-${target.name}`, perLabel: { valid: 20, used: 4 } });
    // API only: every verification and every delivery runs in the worker processes below.
    t = await startTestServer(target, { worker: false, subscribers: [probeSubscriber()] });
    await createProbeTable(t.ctx.storage.db, t.ctx.storage.dialect);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t.stop();
    await sims.close();
  });

  const worker = (): Promise<ChildProcess> =>
    spawnReady(
      'test/fixtures/subscriber-worker.ts',
      workerEnv(t, { RECARD_JOB_LEASE_MS: '1000', RECARD_PG_POOL_SIZE: '4' }),
      children,
    );

  it('every event exactly once, in sequence per order', { timeout: 120_000 }, async () => {
    const ch = await t.createChannel({ name: 'Crash shop' });
    const cards: SimCard[] = [
      ...sims.cards.filter(
        (c) => c.label === 'valid' && ['cmcc_national', 'telecom_guangdong', 'jd_ecard'].includes(c.cardType),
      ),
      ...sims.cards.filter((c) => c.label === 'used' && c.cardType === 'jd_ecard'),
    ].slice(0, ORDERS);
    expect(cards).toHaveLength(ORDERS);
    const ids: string[] = [];
    for (const [i, card] of cards.entries()) ids.push(await submitCard(ch.client, card, `crash-${i}`));

    const db = t.ctx.storage.db;
    const openDeliveries = async () =>
      Number(
        (
          await db
            .selectFrom('jobs')
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .where('kind', '=', 'events.probe')
            .where('state', 'in', ['available', 'running'])
            .executeTakeFirst()
        )?.n ?? 0,
      );
    let killedWithWorkLeft = 0;
    for (let k = 0; k < KILLS; k++) {
      const w = await worker();
      await sleep(300 + ((k * 97) % 400));
      if ((await openDeliveries()) > 0 || (await probeRows(db)).length === 0) killedWithWorkLeft++;
      w.kill('SIGKILL');
      await once(w, 'exit');
    }
    await worker(); // the last one is left to finish
    const FINAL = ['redeemed', 'settled', 'paid', 'invalid', 'failed', 'review'];
    await waitFor(
      async () => {
        const rows = await db.selectFrom('orders').select('status').where('id', 'in', ids).execute();
        return rows.every((r) => FINAL.includes(r.status)) && (await openDeliveries()) === 0;
      },
      60_000,
      'every order final and every delivery done',
    );

    const events = await db
      .selectFrom('events')
      .select(['id', 'position', 'subject_id'])
      .where('subject_id', 'in', ids)
      .orderBy('position')
      .execute();
    const seen = (await probeRows(db)).filter((r) => ids.includes(r.subject_id));
    expect(killedWithWorkLeft).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeGreaterThanOrEqual(2 * ORDERS); // submitted + an end for each
    // Exactly once: every event seen, none twice.
    expect(seen.map((s) => s.event_id).sort()).toEqual(events.map((e) => e.id).sort());
    // In order per order: the commit order of the handling follows the order of the changes.
    for (const id of ids) {
      const mine = seen.filter((s) => s.subject_id === id).map((s) => s.event_position);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    // The kills landed in deliveries: some were taken over from a killed worker after its lease.
    const retaken = await db
      .selectFrom('jobs')
      .select('id')
      .where('kind', '=', 'events.probe')
      .where('attempt', '>', 1)
      .execute();
    expect(retaken.length).toBeGreaterThan(0);
  });
});
