import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo, usePayoutSimulators } from '../../src/main/demo.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import type { ReviewEvidence, ReviewView } from '../../src/modules/reviews/index.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { type PayoutSimulatorSet, startPayoutSimulators } from '../../src/simulators/payouts.js';
import { ShiftedClock } from '../harness/clock.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker, settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { exhaustVerifyAttempts } from '../harness/verify-jobs.js';
import { waitFor } from '../harness/wait.js';

/**
 * The manual review queue end to end (docs/reviews.md): orders verification sends to a person land
 * in the queue through the reviews subscriber; a reviewer lists, claims, reads the evidence and
 * decides; an approval goes on to redeem with the issuer simulator and the seller is paid, a
 * rejection voids the escrow hold. Claims are one reviewer at a time and expire.
 */
const CLAIM_MS = 60_000;

describe.each(storageTargets())('review queue on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let payouts: PayoutSimulatorSet;
  const clock = new ShiftedClock();
  const take = cardTaker(() => sims);
  let serial = 0;
  let reviewer: { id: string; token: string };
  type Channel = Awaited<ReturnType<TestServer['createChannel']>>;

  const as = (who: { token: string }) => ({
    get: (path: string) => t.admin('GET', path, undefined, who.token),
    post: (path: string, body: unknown = {}) => t.admin('POST', path, body, who.token),
    del: (path: string) => t.admin('DELETE', path, undefined, who.token),
  });
  const codeOf = (res: { body: unknown }) => (res.body as { error?: { code?: string } }).error?.code;
  const clean = async () => expect((await checkLedger(t.ctx)).violations).toEqual([]);

  /** The case the subscriber opened for an order (it runs a moment after the order's event). */
  const caseOf = (orderId: string, status = 'waiting') =>
    waitFor(
      async () => {
        const list = (await as(reviewer).get(`/admin/v1/reviews?status=${status}&limit=100`)).body as {
          data: ReviewView[];
        };
        return list.data.find((r) => r.order_id === orderId);
      },
      10_000,
      `a review case of ${orderId}`,
    );

  /** An order the issuer answers with an ambiguous code at inquiry: it lands in review. */
  async function ambiguousOrder(ch: Channel, issuer: string, cardType: string) {
    const sim = sims.byIssuer.get(issuer);
    if (!sim) throw new Error(`no simulator for ${issuer}`);
    sim.setFaults({ ambiguousRate: 1, operations: ['inquire'] });
    const card = take(cardType, 'valid');
    const id = await submitCard(ch.client, card, `rev-${++serial}`);
    const o = await settledOrder(ch.client, id);
    expect(o).toMatchObject({ status: 'review', reason: 'ambiguous_code' });
    return { id, card, sim };
  }

  async function sellerWithAlipay(ch: Channel, seller = 'seller-1') {
    expect(
      (await ch.client.put(`/v1/sellers/${seller}`, { verified_name: '张三', verified: true })).status,
    ).toBe(200);
    const d = await ch.client.post(`/v1/sellers/${seller}/destinations`, {
      kind: 'alipay',
      account: '13800138000',
      holder_name: '张三',
    });
    expect(d.status).toBe(201);
  }

  beforeAll(async () => {
    sims = await startSimulators({
      seed: `reviews-${target.name}`,
      perLabel: { valid: 20, wrong_face_value: 3 },
    });
    t = await startTestServer(target, { clock, config: { settlementSweepMs: 200, reviewClaimMs: CLAIM_MS } });
    payouts = await startPayoutSimulators({ bankPublishEveryMs: 100, usdtConfirmIntervalMs: 20 });
    usePayoutSimulators(t.ctx, payouts);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    reviewer = await t.adminSession('reviewer');
  });
  afterAll(async () => {
    await t.stop();
    await payouts.close();
    await sims.close();
  });

  it('an ambiguous code lands in the queue; claimed, read and approved, the card is redeemed, settled and paid', async () => {
    const ch = await t.createChannel({ name: 'T0 shop' });
    await sellerWithAlipay(ch);
    const { id, card, sim } = await ambiguousOrder(ch, 'china_mobile', 'cmcc_national');
    try {
      const c = await caseOf(id);
      expect(c).toMatchObject({
        reason: 'ambiguous_code',
        stage: 'issuer',
        status: 'open',
        amount: card.declaredFaceValue,
        channel_id: ch.id,
      });
      // Filters: by reason and amount it is there; above its amount it is not.
      const byReason = (await as(reviewer).get('/admin/v1/reviews?reason=ambiguous_code&limit=100')).body;
      expect((byReason.data as ReviewView[]).some((r) => r.id === c.id)).toBe(true);
      const above = (await as(reviewer).get(`/admin/v1/reviews?min_amount=${card.declaredFaceValue + 1}`))
        .body;
      expect((above.data as ReviewView[]).some((r) => r.id === c.id)).toBe(false);
      // A filter past the stores' integers is bad input, not a 500 (found by the schema fuzz on PostgreSQL).
      for (const q of ['min_amount=5.413247918859275e%2B30', 'max_age_s=435635644820000']) {
        const huge = await as(reviewer).get(`/admin/v1/reviews?${q}`);
        expect(huge.status, huge.text).toBe(400);
        expect(huge.body.error?.code).toBe('invalid_request');
      }

      const claimed = await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`);
      expect(claimed.status, claimed.text).toBe(200);
      expect(claimed.body).toMatchObject({ status: 'claimed', claimed_by: reviewer.id });

      const ev = await as(reviewer).get(`/admin/v1/reviews/${c.id}`);
      expect(ev.status, ev.text).toBe(200);
      const evidence = ev.body as ReviewEvidence;
      expect(evidence.order).toMatchObject({ id, status: 'review', raw_code: '9003' });
      expect(evidence.issuer.raw_code).toBe('9003');
      expect(evidence.issuer.history.map((h) => h.to_status)).toEqual(['submitted', 'verifying', 'review']);
      expect(evidence.fired_rules).toEqual([]);
      expect(evidence.face_value.declared).toBe(card.declaredFaceValue);
      expect(evidence.seller.id).toBe('seller-1');
      expect(evidence.seller.by_status).toContainEqual(
        expect.objectContaining({ status: 'review', count: 1 }),
      );
      // Never the card number or its secret: the masked number only.
      expect(ev.text).not.toContain(card.number);
      expect(ev.text).not.toContain(card.secret);
      expect(evidence.order.card_number_masked.endsWith(card.number.slice(-4))).toBe(true);

      // The issuer still answers the inquiry ambiguously: the approval redeems anyway.
      const decided = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
        decision: 'approve',
        comment: 'Checked with China Mobile: the card is good.',
      });
      expect(decided.status, decided.text).toBe(200);
      expect(decided.body).toMatchObject({ status: 'decided', decision: 'approve', decided_by: reviewer.id });
      const paid = await settledOrder(ch.client, id, 'paid');
      expect(paid.status).toBe('paid');
      expect(sim.book.redemptionsPerCard().get(card.number)).toBe(1);
      // The decision is on record with its reviewer.
      const audit = (await t.admin('GET', '/admin/v1/audit-log?operation_id=adminDecideReview&limit=100'))
        .body as {
        data: { actor: { id: string | null }; request_body: unknown; params: Record<string, unknown> }[];
      };
      const entry = audit.data.find((a) => a.params.id === c.id);
      expect(entry?.actor.id).toBe(reviewer.id);
      expect(entry?.request_body).toMatchObject({ decision: 'approve' });
      // Decided cases leave the waiting queue.
      const waiting = (await as(reviewer).get('/admin/v1/reviews?limit=100')).body.data as ReviewView[];
      expect(waiting.some((r) => r.id === c.id)).toBe(false);
    } finally {
      sim.setFaults(NO_FAULTS);
    }
    await clean();
  });

  it('a rejected case rejects the order and voids the escrow hold', async () => {
    const ch = await t.createChannel({
      name: 'Escrow shop',
      kind: 'ecommerce',
      settlement: { escrow: true, cycle: 'T3' },
    });
    const { id, sim } = await ambiguousOrder(ch, 'china_unicom', 'unicom_national');
    sim.setFaults(NO_FAULTS);
    const transfers = () => t.ctx.ledger.transfersOf(t.ctx.storage.db, 'order', id);
    await waitFor(
      async () => ((await transfers()).some((x) => x.id === `${id}:hold`) ? true : undefined),
      10_000,
      'the escrow hold',
    );
    const c = await caseOf(id);
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const decided = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'reject',
      comment: 'Reported stolen.',
    });
    expect(decided.status, decided.text).toBe(200);
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('rejected');
    await waitFor(
      async () =>
        (await transfers()).find((x) => x.id === `${id}:hold`)?.pending_state === 'voided' ? true : undefined,
      10_000,
      'the hold voided',
    );
    // Decided once.
    const again = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'approve',
      comment: 'x',
    });
    expect(again.status).toBe(409);
    expect(codeOf(again)).toBe('review_decided');
    await clean();
  });

  it('one reviewer at a time: a held claim is 409, the holder extends it, it expires, and a decision needs it', async () => {
    const ch = await t.createChannel({ name: 'Claims' });
    const { id, sim } = await ambiguousOrder(ch, 'china_mobile', 'cmcc_national');
    sim.setFaults(NO_FAULTS);
    const c = await caseOf(id);
    const other = await t.adminSession('finance');
    // No claim: no decision.
    const unclaimed = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'reject',
      comment: 'no claim',
    });
    expect(unclaimed.status).toBe(409);
    expect(codeOf(unclaimed)).toBe('review_not_claimed');

    const first = await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`);
    expect(first.status).toBe(200);
    const taken = await as(other).post(`/admin/v1/reviews/${c.id}/claim`);
    expect(taken.status).toBe(409);
    expect(codeOf(taken)).toBe('review_claimed');
    // The other may not release or decide it either.
    expect(codeOf(await as(other).del(`/admin/v1/reviews/${c.id}/claim`))).toBe('review_claimed');
    expect(
      codeOf(
        await as(other).post(`/admin/v1/reviews/${c.id}/decision`, { decision: 'reject', comment: 'x' }),
      ),
    ).toBe('review_not_claimed');
    // The holder claims again: the claim is extended.
    clock.advance(10_000);
    const extended = await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`);
    expect(extended.status).toBe(200);
    expect(Date.parse((extended.body as ReviewView).claim_expires_at ?? '')).toBeGreaterThan(
      Date.parse((first.body as ReviewView).claim_expires_at ?? ''),
    );
    // Past its expiry the case is open again and the other reviewer takes it.
    clock.advance(CLAIM_MS + 1_000);
    expect(((await as(reviewer).get(`/admin/v1/reviews/${c.id}`)).body as ReviewEvidence).review.status).toBe(
      'open',
    );
    const expiredDecision = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'reject',
      comment: 'too late',
    });
    expect(codeOf(expiredDecision)).toBe('review_not_claimed');
    const second = await as(other).post(`/admin/v1/reviews/${c.id}/claim`);
    expect(second.status).toBe(200);
    expect(second.body.claimed_by).toBe(other.id);
    // Released, it is open; nothing about the order changed meanwhile.
    const released = await as(other).del(`/admin/v1/reviews/${c.id}/claim`);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: 'open', claimed_by: null });
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('review');
    // Claims and releases are audited with the reviewer.
    const audit = (await t.admin('GET', '/admin/v1/audit-log?operation_id=adminReleaseReview&limit=100'))
      .body as {
      data: { actor: { id: string | null }; params: Record<string, unknown> }[];
    };
    expect(audit.data.find((a) => a.params.id === c.id)?.actor.id).toBe(other.id);
  });

  it('request_info keeps the order in review and the case waiting, with the comment', async () => {
    const ch = await t.createChannel({ name: 'Info' });
    const { id, sim } = await ambiguousOrder(ch, 'china_mobile', 'cmcc_national');
    sim.setFaults(NO_FAULTS);
    const c = await caseOf(id);
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const asked = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'request_info',
      comment: 'Send a photo of the card back.',
    });
    expect(asked.status, asked.text).toBe(200);
    expect(asked.body).toMatchObject({
      status: 'info_requested',
      comment: 'Send a photo of the card back.',
      decision: null,
      claimed_by: null,
    });
    expect((await caseOf(id, 'info_requested')).id).toBe(c.id);
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('review');
  });

  it('a face-value mismatch (policy review) approved is redeemed and settled at the actual value', async () => {
    const ch = await t.createChannel({ name: 'Mismatch', face_value_policy: 'review' });
    const card = take('cmcc_national', 'wrong_face_value');
    const id = await submitCard(ch.client, card, `rev-${++serial}`);
    const o = await settledOrder(ch.client, id);
    expect(o).toMatchObject({ status: 'review', reason: 'face_value_mismatch' });
    const c = await caseOf(id);
    expect(c.reason).toBe('face_value_mismatch');
    const ev = (await as(reviewer).get(`/admin/v1/reviews/${c.id}`)).body as ReviewEvidence;
    const actual = ev.face_value.actual;
    expect(actual).not.toBeNull();
    expect(actual).not.toBe(card.declaredFaceValue);
    expect(ev.face_value.difference).toBe((actual as number) - card.declaredFaceValue);
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const decided = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'approve',
      comment: 'Seller misdeclared; settle what the card holds.',
    });
    expect(decided.status, decided.text).toBe(200);
    const settled = await settledOrder(ch.client, id, 'settled');
    expect(settled.actual_face_value).toBe(actual);
    expect(settled.price?.face_value).toBe(actual);
    await clean();
  });

  it('a redeem of unknown outcome, confirmed by a reviewer, is redeemed without asking the issuer again', async () => {
    const ch = await t.createChannel({ name: 'Unknown redeem' });
    const sim = sims.byIssuer.get('sinopec');
    if (!sim) throw new Error('no sinopec simulator');
    // Every redeem and lookup times out: the outcome stays unknown until attempts run out.
    sim.setFaults({ timeoutRate: 1, hangMs: 1000, operations: ['redeem', 'lookup'] });
    let id: string;
    try {
      id = await submitCard(ch.client, take('sinopec_fuel', 'valid'), `rev-${++serial}`);
      await exhaustVerifyAttempts(t.ctx.storage.db, id);
      t.ctx.wakeWorker();
      const o = await settledOrder(ch.client, id, 'review', 30_000);
      expect(o.reason).toBe('redemption_unknown');
    } finally {
      sim.setFaults(NO_FAULTS);
    }
    const c = await caseOf(id);
    expect(c).toMatchObject({ reason: 'redemption_unknown', stage: 'redeem' });
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const decided = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'approve',
      comment: 'Sinopec confirms the redemption on the phone.',
    });
    expect(decided.status, decided.text).toBe(200);
    const settled = await settledOrder(ch.client, id, 'settled');
    expect(settled.reason).toBeNull();
    await clean();
  }, 40_000);

  it('a case whose card cannot be read back cannot be approved', async () => {
    const ch = await t.createChannel({ name: 'Unreadable' });
    const { id, sim } = await ambiguousOrder(ch, 'china_mobile', 'cmcc_national');
    sim.setFaults(NO_FAULTS);
    const c = await caseOf(id);
    // As the subscriber opens it for an order verification held with `card_unreadable`.
    await t.ctx.storage.db
      .updateTable('reviews')
      .set({ reason: 'card_unreadable' })
      .where('id', '=', c.id)
      .execute();
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const refused = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'approve',
      comment: 'ok',
    });
    expect(refused.status).toBe(409);
    expect(codeOf(refused)).toBe('review_not_approvable');
    // Nothing moved: the order waits, the case is still claimed.
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('review');
    expect(((await as(reviewer).get(`/admin/v1/reviews/${c.id}`)).body as ReviewEvidence).review.status).toBe(
      'claimed',
    );
    const rejected = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'reject',
      comment: 'unreadable',
    });
    expect(rejected.status).toBe(200);
    expect((await ch.client.get<OrderView>(`/v1/orders/${id}`)).body.status).toBe('rejected');
  });

  it('a frozen order (as risk freezes it at intake) approved is released and resumed at once, then redeemed', async () => {
    const ch = await t.createChannel({ name: 'Frozen' });
    const sim = sims.byIssuer.get('china_telecom');
    if (!sim) throw new Error('no china_telecom simulator');
    // A slow inquiry: the order is still `submitted` when "risk" freezes it; the worker's answer then
    // finds it moved on and writes nothing.
    sim.setFaults({ latencyMs: 300 });
    let id: string;
    try {
      id = await submitCard(ch.client, take('telecom_guangdong', 'valid'), `rev-${++serial}`);
      const frozen = await t.ctx.committer.run((trx) =>
        t.ctx.orders.change(trx, id, {
          event: 'freeze',
          from: 'submitted',
          facts: { reason: 'velocity' },
          nowMs: clock.now(),
        }),
      );
      expect(frozen.ok).toBe(true);
    } finally {
      sim.setFaults(NO_FAULTS);
    }
    const c = await caseOf(id);
    expect(c).toMatchObject({ reason: 'velocity', stage: 'intake' });
    expect((await as(reviewer).post(`/admin/v1/reviews/${c.id}/claim`)).status).toBe(200);
    const decided = await as(reviewer).post(`/admin/v1/reviews/${c.id}/decision`, {
      decision: 'approve',
      comment: 'Known seller.',
    });
    expect(decided.status, decided.text).toBe(200);
    await settledOrder(ch.client, id, 'settled');
    const ev = (await as(reviewer).get(`/admin/v1/reviews/${c.id}`)).body as ReviewEvidence;
    expect(ev.issuer.history.map((h) => h.event)).toEqual(
      expect.arrayContaining(['freeze', 'release', 'resume', 'redeem', 'settle']),
    );
    // The release to review kept the frozen order's case: no second one was opened.
    await waitFor(
      async () => {
        const pending = await t.ctx.storage.db
          .selectFrom('jobs')
          .select('id')
          .where('kind', '=', 'events.reviews')
          .where('state', 'in', ['available', 'running'])
          .executeTakeFirst();
        return pending ? undefined : true;
      },
      10_000,
      'the reviews subscriber to have taken every event',
    );
    const all = (await as(reviewer).get('/admin/v1/reviews?status=decided&limit=100')).body
      .data as ReviewView[];
    const waiting = (await as(reviewer).get('/admin/v1/reviews?limit=100')).body.data as ReviewView[];
    expect([...all, ...waiting].filter((r) => r.order_id === id)).toHaveLength(1);
    await clean();
  });

  it('the metrics show what waits and for how long', async () => {
    const text = (await t.admin('GET', '/metrics')).text;
    // The request_info case above still waits.
    expect(text).toMatch(/recard_reviews_waiting\{reason="ambiguous_code"\} [1-9]/);
    const age = /^recard_review_oldest_age_seconds (\S+)$/m.exec(text)?.[1];
    expect(Number(age)).toBeGreaterThan(0);
  });
});
