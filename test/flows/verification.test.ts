import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { OrderView } from '../../src/modules/orders/model.js';
import { SWEEP_VERIFYING } from '../../src/modules/verification/model.js';
import type { SimCard, SimCardLabel } from '../../src/simulators/card-base.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { exhaustVerifyAttempts } from '../harness/verify-jobs.js';
import { waitFor } from '../harness/wait.js';

/**
 * The issuer gateway end to end: signed intake → verify job → adapter → simulator (a real server)
 * → order state, on both databases.
 */
// A redeemed card is booked at once (docs/ledger.md): `settled` is where a redemption ends here.
const FINAL = ['settled', 'paid', 'invalid', 'failed', 'review', 'rejected'];

describe.each(storageTargets())('verification on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  const used = new Set<string>();
  let serial = 0;

  /** A fresh card of the simulated base (each is used once per run). */
  const take = (cardType: string, label: SimCardLabel): SimCard => {
    const card = sims.cards.find((c) => c.cardType === cardType && c.label === label && !used.has(c.number));
    if (!card) throw new Error(`no ${label} ${cardType} card left`);
    used.add(card.number);
    return card;
  };
  const submit = async (card: SimCard, client = ch.client, declared = card.declaredFaceValue) => {
    const res = await client.post<OrderView>('/v1/orders', {
      merchant_order_id: `mo-${++serial}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: declared,
      seller: { id: 'seller-1' },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const order = async (id: string, client = ch.client) =>
    (await client.get<OrderView>(`/v1/orders/${id}`)).body;
  const settled = (id: string, client = ch.client, timeoutMs = 15_000) =>
    waitFor(
      async () => {
        const o = await order(id, client);
        return FINAL.includes(o.status) ? o : undefined;
      },
      timeoutMs,
      `order ${id} to settle`,
    );
  const events = (id: string) =>
    t.ctx.storage.db
      .selectFrom('order_events')
      .select(['event', 'to_status', 'reason'])
      .where('order_id', '=', id)
      .orderBy('id')
      .execute();

  beforeAll(async () => {
    sims = await startSimulators({
      seed: `flow-${target.name}`,
      perLabel: { valid: 60, wrong_face_value: 6 },
    });
    t = await startTestServer(target, { config: { workerConcurrency: 16 } });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    ch = await t.createChannel({ name: 'Shop' });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it.each([
    ['SOAP', 'cmcc_national'],
    ['JSON-RPC', 'telecom_guangdong'],
    ['signed REST', 'jd_ecard'],
  ])('a valid card is redeemed over %s: face value, raw code, events in order', async (_p, cardType) => {
    const card = take(cardType, 'valid');
    const id = await submit(card);
    const o = await settled(id);
    expect(o).toMatchObject({
      status: 'settled',
      actual_face_value: card.faceValue,
      reason: null,
      waiting_for: null,
    });
    expect(o.raw_code).toBeTruthy();
    expect(o.verified_at).not.toBeNull();
    expect((await events(id)).map((e) => e.event)).toEqual([
      'submit',
      'start_verification',
      'redeem',
      'settle',
    ]);
    const sim = sims.byIssuer.get(o.issuer as string);
    expect(sim?.book.redemptionsPerCard().get(card.number)).toBe(1);
  });

  it('a batch-file card waits in verifying, visibly, until the next state file confirms it', async () => {
    const card = take('supermarket_gift', 'valid');
    const id = await submit(card);
    const waiting = await waitFor(async () => {
      const o = await order(id);
      return o.waiting_for === 'issuer_confirmation' ? o : undefined;
    });
    expect(waiting.status).toBe('verifying');
    const sim = sims.byIssuer.get('supermarket_chain');
    expect(sim?.book.stats.redeemed).toBe(0); // the claim is only a file so far
    sim?.publish?.();
    const o = await settled(id);
    expect(o).toMatchObject({
      status: 'settled',
      actual_face_value: card.faceValue,
      waiting_for: null,
      raw_code: 'USED',
    });
  });

  it.each([
    ['used', 'card_used'],
    ['expired', 'card_expired'],
    ['unactivated', 'card_unactivated'],
  ] as const)('a %s card is invalid with reason %s and the raw code', async (label, reason) => {
    const card = take('unicom_national', label);
    const o = await settled(await submit(card));
    expect(o).toMatchObject({ status: 'invalid', reason, issuer: 'china_unicom' });
    expect(o.raw_code).toMatch(/^\d{4}$/);
    expect(sims.byIssuer.get('china_unicom')?.book.stats.redeemRequests).toBe(0);
  });

  it('a wrong secret is invalid: wrong_secret', async () => {
    const card = take('telecom_national', 'valid');
    const wrong = { ...card, secret: card.secret.replace(/.$/, (d) => (d === '1' ? '2' : '1')) };
    const o = await settled(await submit(wrong));
    expect(o).toMatchObject({ status: 'invalid', reason: 'wrong_secret', raw_code: '40301' });
  });

  it('an ambiguous code sends the order to review with the raw code kept; nothing is redeemed', async () => {
    const sim = sims.byIssuer.get('jd');
    sim?.setFaults({ ambiguousRate: 1, operations: ['inquire'] });
    try {
      const card = take('jd_ecard', 'valid');
      const o = await settled(await submit(card));
      expect(o).toMatchObject({ status: 'review', reason: 'ambiguous_code', raw_code: 'CARD_FROZEN' });
      expect(sim?.book.redemptionsPerCard().get(card.number)).toBeUndefined();
    } finally {
      sim?.setFaults(NO_FAULTS);
    }
  });

  it('an unknown code sends the order to review and is counted in a metric', async () => {
    const sim = sims.byIssuer.get('china_mobile');
    // A route whose issuer has no mapping table: every code it answers is unknown.
    await t.ctx.issuerAdmin.putRoute('sim_cmcc_zhejiang', {
      card_type: 'cmcc_zhejiang',
      issuer: 'boss_without_table',
      protocol: 'soap',
      endpoint: `${sim?.url}/boss/CardService`,
      priority: 10,
      capacity_per_minute: 1000,
      timeout_ms: 400,
      max_concurrency: 8,
      poll_ms: 100,
      enabled: true,
    });
    const o = await settled(await submit(take('cmcc_zhejiang', 'valid')));
    expect(o).toMatchObject({ status: 'review', reason: 'unknown_code', raw_code: '0000' });
    const metrics = await t.ctx.metrics.registry.metrics();
    expect(metrics).toMatch(
      /recard_issuer_unknown_codes_total\{issuer="boss_without_table",raw_code="0000"\} 1/,
    );
  });

  it('face value mismatch follows the channel policy: settle the actual value, review, or fail', async () => {
    const byPolicy = {
      settle_actual: await t.createChannel({ name: 'Settles', face_value_policy: 'settle_actual' }),
      review: await t.createChannel({ name: 'Reviews', face_value_policy: 'review' }),
      fail: await t.createChannel({ name: 'Fails', face_value_policy: 'fail' }),
    };
    const sim = sims.byIssuer.get('china_mobile');
    const results: Record<string, OrderView> = {};
    const cards: Record<string, SimCard> = {};
    for (const [policy, channel] of Object.entries(byPolicy)) {
      const card = take('cmcc_national', 'wrong_face_value');
      cards[policy] = card;
      results[policy] = await settled(await submit(card, channel.client), channel.client);
    }
    expect(results.settle_actual).toMatchObject({
      status: 'settled',
      actual_face_value: cards.settle_actual?.faceValue,
      reason: 'face_value_mismatch',
    });
    expect(results.settle_actual?.actual_face_value).not.toBe(results.settle_actual?.declared_face_value);
    // Settled at the actual value: the locked rate (96 %) applied to what the card was worth, as a new
    // price that names the one it replaced.
    const actual = cards.settle_actual?.faceValue ?? 0;
    const repriced = results.settle_actual?.price;
    expect(repriced).toMatchObject({
      face_value: actual,
      rate_bps: 9_600,
      seller_amount: Math.floor((actual * 9_600) / 10_000),
      payout_amount: Math.floor((actual * 9_600) / 10_000),
    });
    const explained = await t.admin('GET', `/admin/v1/prices/${repriced?.price_id}`);
    expect(explained.body).toMatchObject({ kind: 'reprice', order_id: results.settle_actual?.id });
    const replaced = await t.admin(
      'GET',
      `/admin/v1/prices/${(explained.body as { replaces: string }).replaces}`,
    );
    expect(replaced.body).toMatchObject({
      kind: 'intake',
      face_value: results.settle_actual?.declared_face_value,
    });
    // The orders that did not settle keep the price of their declared value.
    expect(results.review?.price?.face_value).toBe(results.review?.declared_face_value);
    expect(results.review).toMatchObject({
      status: 'review',
      reason: 'face_value_mismatch',
      actual_face_value: cards.review?.faceValue,
    });
    expect(results.fail).toMatchObject({ status: 'invalid', reason: 'face_value_mismatch' });
    // Only the settling channel's card was consumed.
    const per = sim?.book.redemptionsPerCard();
    expect(per?.get(cards.settle_actual?.number as string)).toBe(1);
    expect(per?.get(cards.review?.number as string)).toBeUndefined();
    expect(per?.get(cards.fail?.number as string)).toBeUndefined();
  });

  it('no card is redeemed twice when 30% of redeems time out', async () => {
    const sim = sims.byIssuer.get('china_telecom');
    if (!sim) throw new Error('no telecom simulator');
    sim.setFaults({ timeoutRate: 0.3, hangMs: 2000, operations: ['redeem'] });
    try {
      const cards = Array.from({ length: 30 }, () => take('telecom_national', 'valid'));
      const ids = await Promise.all(cards.map((c) => submit(c)));
      const done = await Promise.all(ids.map((id) => settled(id, ch.client, 40_000)));
      expect(done.map((o) => o.status)).toEqual(ids.map(() => 'settled'));
      const per = sim.book.redemptionsPerCard();
      for (const c of cards) expect(per.get(c.number)).toBe(1);
      // Nothing was re-sent blindly: no redeem ever reached a consumed card or reused a spent id.
      expect(sim.book.stats.redeemsOfConsumedCard).toBe(0);
      expect(sim.book.stats.repeatedRedemptionIds).toBe(0);
      // And timeouts did happen, settled by lookup.
      expect(sim.book.stats.lookups).toBeGreaterThan(0);
    } finally {
      sim.setFaults(NO_FAULTS);
    }
  }, 60_000);

  it('the router falls back in priority order past a dead route and a spent capacity', async () => {
    const sim = sims.byIssuer.get('china_mobile');
    const route = (id: string, priority: number, endpoint: string, capacity: number) =>
      t.ctx.issuerAdmin.putRoute(id, {
        card_type: 'cmcc_jiangsu',
        issuer: 'china_mobile',
        protocol: 'soap',
        endpoint,
        priority,
        capacity_per_minute: capacity,
        timeout_ms: 400,
        max_concurrency: 8,
        poll_ms: 100,
        enabled: true,
      });
    // Nothing listens on port 9 here: connection refused.
    await route('sim_cmcc_jiangsu', 1, 'http://127.0.0.1:9/boss/CardService', 1000);
    await route('jiangsu_second', 2, `${sim?.url}/boss/CardService`, 1);
    await route('jiangsu_third', 3, `${sim?.url}/boss/CardService`, 1000);
    const first = await settled(await submit(take('cmcc_jiangsu', 'valid')));
    const second = await settled(await submit(take('cmcc_jiangsu', 'valid')));
    expect([first.status, second.status]).toEqual(['settled', 'settled']);
    const rows = await t.ctx.storage.db
      .selectFrom('orders')
      .select(['id', 'route_id'])
      .where('id', 'in', [first.id, second.id])
      .execute();
    const routeOf = Object.fromEntries(rows.map((r) => [r.id, r.route_id]));
    expect(routeOf[first.id]).toBe('jiangsu_second');
    expect(routeOf[second.id]).toBe('jiangsu_third'); // the second route's one call per minute was spent
    const metrics = await t.ctx.metrics.registry.metrics();
    expect(metrics).toMatch(
      /recard_issuer_route_skips_total\{route="sim_cmcc_jiangsu",why="error_connection"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /recard_issuer_route_skips_total\{route="jiangsu_second",why="capacity_spent"\} [1-9]/,
    );
  });

  /** Runs the verify job's remaining attempts at once (its backoff is seconds to minutes). */
  const exhaustAttempts = async (orderId: string) => {
    const db = t.ctx.storage.db;
    const job = await exhaustVerifyAttempts(db, orderId);
    // The reason is a typed code beside the message, not something to parse out of it.
    expect(job.last_error).toMatch(/^IssuerTrouble: /);
    expect(job.last_error_code).toBe('issuer_unavailable');
    t.ctx.wakeWorker();
  };

  it('when attempts run out the order fails with the last reason', async () => {
    const sim = sims.byIssuer.get('sinopec');
    sim?.setFaults({ errorRate: 1 });
    try {
      const id = await submit(take('sinopec_fuel', 'valid'));
      await exhaustAttempts(id);
      const o = await settled(id);
      expect(o).toMatchObject({ status: 'failed', reason: 'issuer_unavailable' });
      expect((await events(id)).at(-1)).toMatchObject({
        event: 'give_up',
        to_status: 'failed',
        reason: 'issuer_unavailable',
      });
    } finally {
      sim?.setFaults(NO_FAULTS);
    }
  }, 30_000);

  it('a redeem that may have happened is never failed: out of attempts it goes to review', async () => {
    const sim = sims.byIssuer.get('sinopec');
    // Every redeem and every lookup times out: the outcome stays unknown.
    sim?.setFaults({ timeoutRate: 1, hangMs: 1000, operations: ['redeem', 'lookup'] });
    try {
      const card = take('sinopec_fuel', 'valid');
      const id = await submit(card);
      await exhaustAttempts(id);
      const o = await settled(id);
      expect(o).toMatchObject({ status: 'review', reason: 'redemption_unknown' });
    } finally {
      sim?.setFaults(NO_FAULTS);
    }
  }, 30_000);

  /**
   * Stages a crash after `redeem_state: sent` was committed: the order's job is gone, the issuer may or
   * may not have carried the redeem out (`issuerGotIt`), and the sweeper hands the order back.
   */
  async function crashAfterSend(issuerGotIt: boolean) {
    const db = t.ctx.storage.db;
    const sim = sims.byIssuer.get('jd');
    const card = take('jd_ecard', 'valid');
    // Submit while the worker cannot reach the issuer, so the order is ours to stage.
    sim?.setFaults({ errorRate: 1 });
    const id = await submit(card);
    await waitFor(
      async () =>
        (await db
          .selectFrom('jobs')
          .select('attempt')
          .where('payload', '=', JSON.stringify({ order_id: id }))
          .where('state', '=', 'available')
          .where('attempt', '>=', 1)
          .executeTakeFirst()) !== undefined,
    );
    // Transient trouble before any issuer answer leaves the order submitted.
    expect((await order(id)).status).toBe('submitted');
    await db
      .deleteFrom('jobs')
      .where('payload', '=', JSON.stringify({ order_id: id }))
      .execute();
    sim?.setFaults(NO_FAULTS);
    const rid = `rdm_crashed_${issuerGotIt ? 'after' : 'before'}_send_0001`;
    if (issuerGotIt) sim?.book.redeem(card.number, card.secret, rid);
    await db
      .updateTable('orders')
      .set({
        status: 'verifying',
        redeem_state: 'sent',
        redemption_id: rid,
        route_id: 'sim_jd_ecard',
        updated_at: 0,
      })
      .where('id', '=', id)
      .execute();
    const sweeper = t.ctx.jobHandlers.find((h) => h.spec.kind === SWEEP_VERIFYING.kind);
    await sweeper?.handle?.(
      { stuck_after_ms: 60_000 },
      {
        jobId: 'job_test',
        attempt: 1,
        maxAttempts: 1,
        signal: new AbortController().signal,
        logger: t.ctx.logger,
      },
    );
    t.ctx.wakeWorker();
    return { id, card, sim };
  }

  it('the sweeper hands a stuck order back; a redeem sent before a crash is settled by lookup, not re-sent', async () => {
    const { id, card, sim } = await crashAfterSend(true);
    const o = await settled(id);
    expect(o).toMatchObject({ status: 'settled', actual_face_value: card.faceValue });
    expect(sim?.book.redemptionsPerCard().get(card.number)).toBe(1);
    expect(sim?.book.stats.repeatedRedemptionIds).toBe(0);
  });

  it('a redeem left "sent" by a crash that the issuer never received is sent again, once, with its redemption id', async () => {
    const { id, card, sim } = await crashAfterSend(false);
    const o = await settled(id);
    expect(o).toMatchObject({ status: 'settled', actual_face_value: card.faceValue });
    expect(sim?.book.redemptionsPerCard().get(card.number)).toBe(1);
    expect(sim?.book.stats.repeatedRedemptionIds).toBe(0);
  });
});
