import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuerRouter, NoRouteError } from '../../src/modules/verification/router.js';
import { createIssuerAdminService } from '../../src/modules/verification/service.js';
import { systemClock } from '../../src/shared/clock.js';
import { makeKeyring } from '../../src/shared/crypto.js';
import { generateCardBase } from '../../src/simulators/card-base.js';
import type { Simulator } from '../../src/simulators/server.js';
import { startBossSimulator } from '../../src/simulators/soap-boss.js';
import type { Storage } from '../../src/storage/database.js';
import { storageTargets, type TestLocation } from '../harness/storage.js';

/** The router on its own: priority order, an open breaker skipped without a call, and back when it closes. */
describe.each(storageTargets())('issuer router on $name', (target) => {
  let loc: TestLocation;
  let storage: Storage;
  let primary: Simulator;
  let secondary: Simulator;
  let router: IssuerRouter;
  const skipped: string[] = [];
  const cards = generateCardBase({
    seed: 'router',
    cardTypes: ['cmcc_national'],
    perLabel: { valid: 60 },
  }).filter((c) => c.label === 'valid');

  beforeAll(async () => {
    loc = await target.fresh();
    storage = await loc.open();
    primary = await startBossSimulator({ issuer: 'china_mobile', cards });
    secondary = await startBossSimulator({ issuer: 'china_mobile', cards });
    const keyring = makeKeyring({ id: 'k1', key: randomBytes(32) });
    const admin = createIssuerAdminService({ db: storage.db, keyring, clock: systemClock });
    const route = (id: string, priority: number, sim: Simulator) =>
      admin.putRoute(id, {
        card_type: 'cmcc_national',
        issuer: 'china_mobile',
        protocol: 'soap',
        endpoint: `${sim.url}/boss/CardService`,
        priority,
        capacity_per_minute: 10_000,
        timeout_ms: 500,
        max_concurrency: 8,
        poll_ms: 100,
        enabled: true,
      });
    await route('first', 1, primary);
    await route('second', 2, secondary);
    router = new IssuerRouter({
      db: storage.db,
      keyring,
      clock: systemClock,
      cacheMs: 0,
      resilience: {
        retry: { maxRetries: 0, initialDelayMs: 1, maxDelayMs: 1 },
        breaker: { threshold: 0.5, windowMs: 10_000, minCalls: 20, halfOpenAfterMs: 300 },
      },
      onRouteSkipped: (route, why) => skipped.push(`${route}:${why}`),
    });
  });
  afterAll(async () => {
    await router.close();
    await primary.close();
    await secondary.close();
    await loc.destroy();
  });

  it('uses the first route while it is healthy', async () => {
    const { routed } = await router.inquire(cards[0] as (typeof cards)[number]);
    expect(routed.route.id).toBe('first');
  });

  it('after 20 failures the first route breaker opens: calls go to the second without touching the first', async () => {
    primary.setFaults({ errorRate: 1 });
    for (let i = 0; i < 20; i++) {
      const { routed } = await router.inquire(cards[i + 1] as (typeof cards)[number]);
      expect(routed.route.id).toBe('second'); // fell back after the first failed
    }
    const before = primary.book.stats.inquiries;
    const { routed } = await router.inquire(cards[30] as (typeof cards)[number]);
    expect(routed.route.id).toBe('second');
    expect(skipped.at(-1)).toBe('first:circuit_open');
    expect(router.circuitStates().find((c) => c.routeId === 'first')?.state).toBe('open');
    expect(primary.book.stats.inquiries).toBe(before); // the open breaker sent nothing
  });

  it('half-open after the pause: one good probe closes it and the first route serves again', async () => {
    primary.setFaults({ errorRate: 0 });
    await new Promise((r) => setTimeout(r, 350));
    const { routed } = await router.inquire(cards[31] as (typeof cards)[number]);
    expect(routed.route.id).toBe('first');
    expect(router.circuitStates().find((c) => c.routeId === 'first')?.state).toBe('closed');
  });

  it('with every route failing, the error says so and keeps the last failure', async () => {
    primary.setFaults({ errorRate: 1 });
    secondary.setFaults({ errorRate: 1 });
    const err = await router.inquire(cards[32] as (typeof cards)[number]).catch((e) => e);
    expect(err).toBeInstanceOf(NoRouteError);
    expect((err as NoRouteError).last).toMatchObject({ kind: 'unavailable' });
    primary.setFaults({ errorRate: 0 });
    secondary.setFaults({ errorRate: 0 });
  });
});
