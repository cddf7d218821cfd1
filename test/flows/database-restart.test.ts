import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { type PrivatePostgres, postgresBinaries, startPrivatePostgres } from '../harness/private-postgres.js';
import { startRecard } from '../harness/processes.js';
import { startTestServer, type TestServer, workerEnv } from '../harness/server.js';
import { cardTaker, simOrderBody } from '../harness/sim-orders.js';
import { postgresTarget } from '../harness/storage.js';
import { sleep, waitFor } from '../harness/wait.js';

vi.setConfig({ testTimeout: 120_000 });

const FINAL = ['settled', 'paid', 'invalid', 'failed', 'review', 'rejected'] as const;

/**
 * Health under a database fault (docs/reliability.md#postgresql-restarted): PostgreSQL is stopped
 * at once (every connection cut, as a crash would) and started again while orders come in. The
 * server must say it is not ready meanwhile, reconnect by itself, and lose nothing it acknowledged:
 * a channel retries what got no answer, with the same `merchant_order_id`, as docs/orders.md says.
 */
describe.skipIf(!postgresBinaries())('PostgreSQL restarted under load', () => {
  let pgx: PrivatePostgres;
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  const take = cardTaker(() => sims);
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    pgx = await startPrivatePostgres();
    sims = await startSimulators({ seed: 'pg-restart', perLabel: { valid: 200 } });
    // A short lease: jobs whose worker lost its transaction to the outage run again soon after.
    t = await startTestServer(postgresTarget(pgx.url), {
      config: { workerConcurrency: 8, jobLeaseMs: 3000 },
    });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Restart shop' });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await t?.stop();
    await sims?.close();
    pgx?.stop();
  });

  /** Submits until answered 201 or 200 (a repeat that found the first), as a careful channel does. */
  async function submitUntilAnswered(n: number): Promise<{ id: string; retries: number }> {
    const body = simOrderBody(take('cmcc_national', 'valid'), `restart-${n}`);
    for (let retries = 0; ; retries++) {
      const r = await ch.client.post<OrderView>('/v1/orders', body).catch(() => undefined);
      if (r && (r.status === 201 || r.status === 200)) return { id: r.body.id, retries };
      if (r && r.status < 500) throw new Error(`order ${n}: ${r.status} ${JSON.stringify(r.body)}`);
      if (retries > 200) throw new Error(`order ${n}: no answer after ${retries} tries`);
      await sleep(100);
    }
  }

  it('readiness turns 503 and back, the server reconnects, and every acknowledged order is kept and finished', async () => {
    // A worker process beside it: a connection cut under it must not end it (an unheard pg error would).
    const started = await startRecard(
      ['worker', '--port', '0'],
      workerEnv(t, { RECARD_JOB_LEASE_MS: '3000' }),
      /operations at (\S+)/,
    );
    const worker = started.child;
    children.push(worker);
    const workerUrl = started.match[1] ?? '';
    const readiness: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const r = await fetch(`${t.url}/readyz`).catch(() => undefined);
        readiness.push(r?.status ?? 0);
        await sleep(50);
      }
    })();

    // 20 orders a second for 6 s; the database goes away at 2 s, for 2 s.
    const submitted: Promise<{ id: string; retries: number }>[] = [];
    const load = (async () => {
      for (let n = 0; n < 120; n++) {
        submitted.push(submitUntilAnswered(n));
        await sleep(50);
      }
    })();
    await sleep(2000);
    await pgx.restart(2000);
    await load;
    const answered = await Promise.all(submitted);
    await waitFor(() => readiness.at(-1) === 200, 30_000, 'ready again');
    probing = false;
    await probe;

    // The worker process lived through it and is ready again.
    expect(worker.exitCode).toBeNull();
    await waitFor(
      async () => (await fetch(`${workerUrl}/readyz`)).status === 200,
      30_000,
      'the worker ready',
    );

    // Some calls met the outage and were retried; the probes saw it and saw it end.
    expect(answered.some((a) => a.retries > 0)).toBe(true);
    expect(readiness).toContain(503);
    expect(readiness.lastIndexOf(503)).toBeLessThan(readiness.lastIndexOf(200));

    // Nothing acknowledged is lost, nothing is written twice, and every order reaches its end.
    const ids = answered.map((a) => a.id);
    expect(new Set(ids).size).toBe(120);
    const rows = await t.ctx.storage.db.selectFrom('orders').select(['id']).execute();
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids));
    await waitFor(
      async () => {
        const open = await t.ctx.storage.db
          .selectFrom('orders')
          .select(['id'])
          .where('status', 'not in', FINAL)
          .execute();
        return open.length === 0;
      },
      60_000,
      'every order to reach its end',
    );
    process.stdout.write(
      `database restart ${JSON.stringify({
        orders: ids.length,
        retried: answered.filter((a) => a.retries > 0).length,
        tries: answered.reduce((n, a) => n + a.retries, 0),
        probes: readiness.length,
        notReady: readiness.filter((r) => r !== 200).length,
        statuses: [...new Set(readiness)],
      })}\n`,
    );
    // No card was redeemed twice at its issuer, nor asked to be (a consumed card asked again).
    for (const sim of sims.byIssuer.values()) {
      expect([...sim.book.redemptionsPerCard().values()].filter((n) => n > 1)).toEqual([]);
      expect(sim.book.stats.redeemsOfConsumedCard).toBe(0);
    }
  });
});
