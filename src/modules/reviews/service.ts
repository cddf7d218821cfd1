import { enqueueJob } from '../../jobs/store.js';
import { type Clock, rfc3339 } from '../../shared/clock.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import { type OrderFacts, type OrderService, type OrderStatus, VERIFY_ORDER } from '../orders/index.js';
import type { PricingService } from '../pricing/index.js';
import type { ReviewError } from './errors.js';
import {
  NOT_APPROVABLE,
  type ReviewDecisionBody,
  type ReviewEvidence,
  type ReviewList,
  type ReviewListQuery,
  type ReviewView,
  type WaitingReviews,
} from './model.js';
import { findReview, listReviews, type ReviewRow, updateReview, waitingReviews } from './store.js';

export interface ReviewDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  /** RECARD_REVIEW_CLAIM_MS: how long a claim holds. */
  claimMs: number;
  /** Orders' face: what a reviewer reads, and the one writer of order state. */
  orders: Pick<OrderService, 'change' | 'forReview' | 'forVerification' | 'sellerHistory'>;
  /** A redemption confirmed by hand at another face value is repriced in the decision's transaction. */
  pricing: Pick<PricingService, 'reprice'>;
  /** The risk rules that fired for an order (the risk module provides them). */
  firedRulesOf(db: Db, orderId: string): Promise<unknown[]>;
  /** A verify job was queued (an approval that resumes verification). */
  onJobQueued?: () => void;
}

type Found<T> = Result<T, ReviewError['code']>;

/** A case as shown: a claim past its expiry counts as open again. */
export function reviewView(r: ReviewRow, nowMs: number): ReviewView {
  const expired = r.status === 'claimed' && (r.claim_expires_at ?? 0) <= nowMs;
  return {
    id: r.id,
    order_id: r.order_id,
    channel_id: r.channel_id,
    reason: r.reason,
    stage: r.stage,
    status: expired ? 'open' : r.status,
    claimed_by: r.claimed_by,
    claim_expires_at: r.claim_expires_at === null ? null : rfc3339(r.claim_expires_at),
    decision: r.decision,
    comment: r.comment,
    decided_by: r.decided_by,
    decided_at: r.decided_at === null ? null : rfc3339(r.decided_at),
    amount: r.amount,
    currency: r.currency,
    created_at: rfc3339(r.created_at),
    updated_at: rfc3339(r.updated_at),
  };
}

const notFound = (id: string) => fail('resource_not_found', `No review case ${id}.`, { field: 'id' });
const holds = (r: ReviewRow, who: string, now: number) =>
  r.status === 'claimed' && r.claimed_by === who && (r.claim_expires_at ?? 0) > now;
const heldByOther = (r: ReviewRow, who: string, now: number) =>
  r.status === 'claimed' && r.claimed_by !== who && (r.claim_expires_at ?? 0) > now;

/** Rolls a decision's unit back whole (the case and the order change commit together or not at all). */
class Refused extends Error {
  constructor(readonly failure: ReviewError) {
    super(failure.message);
  }
}

/**
 * The manual review queue (docs/reviews.md): list, claim, read the evidence, decide. A decision and
 * the order change it makes commit in one transaction, through orders' one writer.
 */
export function createReviewService(deps: ReviewDeps) {
  const { db, committer, clock } = deps;

  /** The order steps an approval takes from where the order stopped, and what they write. */
  function approvalOf(
    order: NonNullable<Awaited<ReturnType<OrderService['forVerification']>>>,
    now: number,
  ):
    | {
        steps: { event: 'release' | 'resume' | 'approve'; from: OrderStatus }[];
        facts: OrderFacts;
        verify: boolean;
      }
    | undefined {
    if (order.status === 'frozen')
      return {
        steps: [
          { event: 'release', from: 'frozen' },
          { event: 'resume', from: 'review' },
        ],
        facts: { approved_at: now, reason: null },
        verify: true,
      };
    if (order.status !== 'review') return undefined;
    if (order.reason === 'redemption_unknown')
      // A person confirmed with the issuer that the card was redeemed.
      return {
        steps: [{ event: 'approve', from: 'review' }],
        facts: {
          approved_at: now,
          reason: null,
          verified_at: now,
          redeem_state: 'confirmed',
          waiting_for: null,
        },
        verify: false,
      };
    return {
      steps: [{ event: 'resume', from: 'review' }],
      // A lookup that found the redeem never arrived left it `refused`: it may be sent again.
      facts: {
        approved_at: now,
        reason: null,
        ...(order.redeem_state === 'refused' ? { redeem_state: 'none' as const } : {}),
      },
      verify: true,
    };
  }

  return {
    async list(q: ReviewListQuery): Promise<ReviewList> {
      const now = clock.now();
      const rows = await listReviews(db, q, now);
      const page = rows.slice(0, q.limit);
      return {
        data: page.map((r) => reviewView(r, now)),
        next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    async get(id: string): Promise<Found<ReviewView>> {
      const row = await findReview(db, id);
      return row ? ok(reviewView(row, clock.now())) : notFound(id);
    },

    /** The case with its evidence. Never the card number or secret: the order view masks the number. */
    async evidence(id: string): Promise<Found<ReviewEvidence>> {
      const row = await findReview(db, id);
      if (!row) return notFound(id);
      const order = await deps.orders.forReview(db, row.order_id);
      if (!order) throw new Error(`review ${id} names a missing order ${row.order_id}`);
      const seller = await deps.orders.sellerHistory(db, order.channelId, order.sellerId);
      const { view } = order;
      return ok({
        review: reviewView(row, clock.now()),
        order: view,
        fired_rules: await deps.firedRulesOf(db, row.order_id),
        seller: {
          id: order.sellerId,
          by_status: seller.byStatus,
          recent_orders: seller.latest.map((o) => ({ ...o, created_at: rfc3339(o.created_at) })),
        },
        issuer: {
          issuer: view.issuer,
          raw_code: view.raw_code,
          history: order.history.map((h) => ({
            event: h.event,
            from_status: h.from_status,
            to_status: h.to_status,
            reason: h.reason,
            at: rfc3339(h.created_at),
          })),
        },
        face_value: {
          declared: view.declared_face_value,
          actual: view.actual_face_value,
          difference:
            view.actual_face_value === null ? null : view.actual_face_value - view.declared_face_value,
        },
      });
    },

    /** One reviewer at a time: taking a case another holds is refused; the holder's claim is extended. */
    async claim(id: string, who: string): Promise<Found<ReviewView>> {
      return committer.run(async (trx) => {
        const now = clock.now();
        const row = await findReview(trx, id);
        if (!row) return notFound(id);
        if (row.status === 'decided')
          return fail('review_decided', `Review ${id} was decided (${row.decision}) already.`);
        if (heldByOther(row, who, now))
          return fail(
            'review_claimed',
            `Review ${id} is claimed by ${row.claimed_by} until ${rfc3339(row.claim_expires_at ?? now)}.`,
          );
        const changed = await updateReview(trx, row, {
          status: 'claimed',
          claimed_by: who,
          claim_expires_at: now + deps.claimMs,
          updated_at: now,
        });
        if (!changed) return fail('review_claimed', `Review ${id} was claimed by someone else just now.`);
        return ok(reviewView(changed, now));
      });
    },

    /** Gives a claim up; releasing a case nobody holds changes nothing. */
    async release(id: string, who: string): Promise<Found<ReviewView>> {
      return committer.run(async (trx) => {
        const now = clock.now();
        const row = await findReview(trx, id);
        if (!row) return notFound(id);
        if (row.status === 'decided')
          return fail('review_decided', `Review ${id} was decided (${row.decision}) already.`);
        if (heldByOther(row, who, now))
          return fail('review_claimed', `Review ${id} is claimed by ${row.claimed_by}, not by you.`);
        if (row.status !== 'claimed') return ok(reviewView(row, now));
        const changed = await updateReview(trx, row, {
          status: 'open',
          claimed_by: null,
          claim_expires_at: null,
          updated_at: now,
        });
        if (!changed) return fail('conflict', `Review ${id} changed meanwhile; read it again.`);
        return ok(reviewView(changed, now));
      });
    },

    /**
     * A decision by the reviewer holding the claim. approve: the order goes on where it stopped;
     * reject: it is refused; request_info: the case waits for more information (the order stays).
     * The case and the order change commit in one transaction.
     */
    async decide(id: string, who: string, body: ReviewDecisionBody): Promise<Found<ReviewView>> {
      let queued = false;
      try {
        const view = await committer.run(async (trx) => {
          const now = clock.now();
          const row = await findReview(trx, id);
          if (!row) throw new Refused(notFound(id));
          if (row.status === 'decided')
            throw new Refused(fail('review_decided', `Review ${id} was decided (${row.decision}) already.`));
          if (!holds(row, who, now))
            throw new Refused(
              fail(
                'review_not_claimed',
                `Claim review ${id} first (POST /admin/v1/reviews/${id}/claim); a decision needs your own unexpired claim.`,
              ),
            );
          if (body.decision === 'request_info') {
            const changed = await updateReview(trx, row, {
              status: 'info_requested',
              comment: body.comment,
              claimed_by: null,
              claim_expires_at: null,
              updated_at: now,
            });
            if (!changed)
              throw new Refused(fail('conflict', `Review ${id} changed meanwhile; read it again.`));
            return reviewView(changed, now);
          }
          const order = await deps.orders.forVerification(trx, row.order_id);
          if (!order) throw new Error(`review ${id} names a missing order ${row.order_id}`);
          const moved = (detail: string) =>
            new Refused(fail('conflict', `Order ${row.order_id} cannot be decided on now: ${detail}.`));
          if (body.decision === 'reject') {
            if (order.status !== 'review' && order.status !== 'frozen') throw moved(`it is ${order.status}`);
            const r = await deps.orders.change(trx, row.order_id, {
              event: 'reject',
              from: order.status,
              reason: 'review_rejected',
              nowMs: now,
            });
            if (!r.ok) throw moved(r.detail);
          } else {
            if (
              NOT_APPROVABLE.includes(row.reason) ||
              (order.reason !== null && NOT_APPROVABLE.includes(order.reason))
            )
              throw new Refused(
                fail(
                  'review_not_approvable',
                  `Review ${id} cannot be approved: its card cannot be read back (${order.reason ?? row.reason}). Reject it.`,
                ),
              );
            const plan = approvalOf(order, now);
            if (!plan) throw moved(`it is ${order.status}`);
            let facts = plan.facts;
            // Confirmed redeemed at another face value than declared: priced at the issuer's value.
            if (
              plan.steps.at(-1)?.event === 'approve' &&
              order.price_id &&
              order.actual_face_value !== null &&
              order.actual_face_value !== order.declared_face_value
            ) {
              const price = await deps.pricing.reprice(
                trx,
                order.id,
                order.price_id,
                order.actual_face_value,
                now,
              );
              if (price) facts = { ...facts, price_id: price.id };
            }
            for (const [i, s] of plan.steps.entries()) {
              const last = i === plan.steps.length - 1;
              const r = await deps.orders.change(trx, row.order_id, {
                event: s.event,
                from: s.from,
                ...(last ? { facts } : {}),
                reason: 'review_approved',
                nowMs: now,
              });
              if (!r.ok) throw moved(r.detail);
            }
            if (plan.verify) {
              await enqueueJob(trx, VERIFY_ORDER, { order_id: row.order_id }, now);
              queued = true;
            }
          }
          const decided = await updateReview(trx, row, {
            status: 'decided',
            decision: body.decision === 'approve' ? 'approve' : 'reject',
            comment: body.comment,
            decided_by: who,
            decided_at: now,
            updated_at: now,
          });
          if (!decided) throw new Refused(fail('conflict', `Review ${id} changed meanwhile; read it again.`));
          return reviewView(decided, now);
        });
        if (queued) deps.onJobQueued?.();
        return ok(view);
      } catch (err) {
        if (err instanceof Refused) return err.failure;
        throw err;
      }
    },

    /** What waits, per reason (the metrics read it at scrape). */
    waiting: (): Promise<WaitingReviews[]> => waitingReviews(db),
  };
}

export type ReviewService = ReturnType<typeof createReviewService>;
