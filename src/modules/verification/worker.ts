import type { Transaction } from 'kysely';
import type { IssuerCard } from '../../adapters/issuers/port.js';
import { IssuerCallError } from '../../adapters/issuers/port.js';
import {
  DeferJob,
  type JobContext,
  JobFailure,
  type JobHandler,
  PermanentJobError,
} from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import { DecryptionError } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { Database } from '../../storage/schema.js';
import type { FaceValuePolicy } from '../channels/index.js';
import {
  type OrderEvent,
  type OrderFacts,
  type OrderService,
  type OrderStatus,
  VERIFY_ORDER,
} from '../orders/index.js';
import type { PricingService } from '../pricing/index.js';
import type { CodeBook } from './code-book.js';
import { afterInquiry, interpret, type Verdict } from './decide.js';
import { needsLookup, type RedeemState, type RedeemStep, redeemStep } from './lifecycle.js';
import { VERIFY_REASONS, type VerifyReason } from './model.js';
import type { RedeemGate } from './redeem-gate.js';
import { NotSentError } from './resilience.js';
import { type IssuerRouter, NoRouteError, type Routed } from './router.js';

/**
 * The verify job (docs/verification.md): inquire, then redeem, then move the order, each step
 * written with its `order_events` row. The redeem state on the order makes every step safe to
 * re-run after a crash or a retry: a redeem that may have reached the issuer is settled by lookup,
 * never sent again blindly. docs/verification.md walks through it.
 */
export interface VerifyDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  router: IssuerRouter;
  codes: CodeBook;
  /** Orders' face: the order as the worker reads it, its card, and the one writer of its state. */
  orders: Pick<OrderService, 'forVerification' | 'openStoredCard' | 'change'>;
  /** What the order's channel does when the issuer reports another face value. */
  faceValuePolicy(channelId: string): Promise<FaceValuePolicy>;
  /** Pricing's face: the price of a card redeemed at another face value, in the redeem's transaction. */
  pricing: Pick<PricingService, 'reprice'>;
  /** Risk's second look, after the issuer answered and before the redeem (risk). */
  risk?: RedeemGate;
  /** Metrics only (observation, not a reaction to the order: subscribers do that). */
  observe?: {
    unknownCode(issuer: string, rawCode: string): void;
    outcome(issuer: string, outcome: 'redeemed' | 'refused' | 'review'): void;
  };
}

/** Passes through the steps in one run: an unknown redeem takes another pass, to settle by lookup. */
const MAX_PASSES = 3;

/** Trouble worth another attempt of the job; its code is the reason the order shows if attempts run out. */
class Transient extends JobFailure<VerifyReason> {
  override name = 'IssuerTrouble';
}

function isVerifyReason(code: string | null): code is VerifyReason {
  return code !== null && (VERIFY_REASONS as readonly string[]).includes(code);
}

function troubleOf(err: unknown): Transient {
  if (err instanceof NoRouteError) {
    if (!err.configured) return new Transient('no_route', err.message);
    const last = err.last;
    if (last instanceof IssuerCallError && last.kind === 'rejected')
      return new Transient('issuer_rejected_request', `${err.message}: ${last.message}`);
    return new Transient(
      'issuer_unavailable',
      `${err.message}${last instanceof Error ? `: ${last.message}` : ''}`,
    );
  }
  if (err instanceof NotSentError) return new Transient('issuer_unavailable', err.message);
  if (err instanceof IssuerCallError)
    return new Transient(
      err.kind === 'rejected' ? 'issuer_rejected_request' : 'issuer_unavailable',
      err.message,
    );
  throw err;
}

type VerifyState = NonNullable<Awaited<ReturnType<OrderService['forVerification']>>>;

export function verifyOrderHandler(deps: VerifyDeps): JobHandler<{ order_id: string }> {
  const { committer, clock, router, codes } = deps;
  const readState = (orderId: string) => deps.orders.forVerification(deps.db, orderId);

  /**
   * Applies lifecycle events in one unit through orders' one writer; the facts go with the last.
   * `from` is the status the order was read in (each change is conditioned on it, so a raced order
   * is left alone and the unit rolls back).
   */
  async function move(
    orderId: string,
    from: OrderStatus,
    events: OrderEvent[],
    facts: OrderFacts,
    options: {
      /** The redeem sub-state the caller read: the last change is conditioned on it too. */
      redeemFrom?: RedeemState;
      /** More writes of the same unit (a new price), whose facts go with the last change. */
      also?: (trx: Db, nowMs: number) => Promise<OrderFacts>;
    } = {},
  ): Promise<boolean> {
    const now = clock.now();
    const raced = Symbol('raced');
    return committer
      .run(async (trx) => {
        let status = from;
        const extra = (await options.also?.(trx, now)) ?? {};
        for (const [i, event] of events.entries()) {
          const last = i === events.length - 1;
          const step = await deps.orders.change(trx, orderId, {
            event,
            from: status,
            facts: last ? { ...facts, ...extra } : {},
            reason: last ? (facts.reason ?? null) : null,
            ...(last && options.redeemFrom !== undefined
              ? { when: { redeem_state: options.redeemFrom } }
              : {}),
            nowMs: now,
          });
          // Rolled back whole, so that nothing written with it (a new price) outlives the refusal.
          if (!step.ok) throw raced;
          status = step.to;
        }
        return true;
      })
      .catch((err: unknown) => {
        if (err === raced) return false;
        throw err;
      });
  }

  /**
   * A step of the redeem sub-state (verification/lifecycle.ts) without a status change, written only
   * if the order is still `verifying` in `from`: the guard that keeps two workers from both sending
   * one card's redeem. Through the committer: many workers' steps share one commit on SQLite.
   */
  async function progress(
    orderId: string,
    from: RedeemState,
    step: RedeemStep,
    facts: Omit<OrderFacts, 'redeem_state'> = {},
  ): Promise<boolean> {
    const to = redeemAfter(from, step);
    const changed = await committer.run((trx) =>
      deps.orders.change(trx, orderId, {
        from: 'verifying',
        when: { redeem_state: from },
        facts: { ...facts, redeem_state: to },
        nowMs: clock.now(),
      }),
    );
    return changed.ok;
  }

  /** The redeem state a lifecycle step writes with it, checked against the sub-state table. */
  function redeemAfter(from: RedeemState, step: RedeemStep): RedeemState {
    const next = redeemStep(from, step);
    if (!next.ok) throw new Error(`redeem step ${step} is not allowed from ${from}`);
    return next.to;
  }

  const verdictOf = async (issuer: string, rawCode: string): Promise<Verdict> => {
    const verdict = await codes.verdict(issuer, rawCode);
    if (verdict.kind === 'review' && verdict.reason === 'unknown_code')
      deps.observe?.unknownCode(issuer, rawCode);
    return verdict;
  };

  /**
   * The issuer's answer to a redeem or lookup came after the order moved on (another worker, or
   * attempts ran out and it went to review): nothing is written, and that is said loudly, so a
   * person reconciles it; it is never dropped silently.
   */
  function unrecorded(ctx: JobContext, orderId: string, rawCode: string, outcome: string) {
    ctx.logger.error(
      { order_id: orderId, raw_code: rawCode, outcome },
      'the issuer answered after the order had moved on; nothing recorded: reconcile by hand',
    );
  }

  async function finishRedeemed(
    ctx: JobContext,
    order: VerifyState,
    routed: Routed,
    rawCode: string,
    amount: number | undefined,
    fallbackAmount: number | null,
    redeemFrom: RedeemState,
  ) {
    deps.observe?.outcome(routed.route.issuer, 'redeemed');
    const actual = amount ?? fallbackAmount;
    const priceId = order.price_id;
    // Priced at the declared face value: another actual value means a new price, in this unit.
    const reprice =
      priceId && actual !== null && actual !== order.declared_face_value
        ? async (trx: Db, now: number): Promise<OrderFacts> => {
            const row = await deps.pricing.reprice(trx, order.id, priceId, actual, now);
            return row ? { price_id: row.id } : {};
          }
        : undefined;
    const moved = await move(
      order.id,
      'verifying',
      ['redeem'],
      {
        raw_code: rawCode,
        actual_face_value: actual,
        redeem_state: redeemAfter(redeemFrom, 'confirm'),
        waiting_for: null,
        verified_at: clock.now(),
        route_id: routed.route.id,
        issuer: routed.route.issuer,
      },
      { redeemFrom, ...(reprice ? { also: reprice } : {}) },
    );
    if (!moved) unrecorded(ctx, order.id, rawCode, 'redeemed');
  }

  /** Settles a redeem that may have reached the issuer: only lookup may say what happened. */
  async function settle(card: IssuerCard, state: VerifyState, ctx: JobContext): Promise<'done' | 'resend'> {
    const orderId = state.id;
    if (!state.route_id || !state.redemption_id)
      throw new PermanentJobError(`order ${orderId} has a redeem state without a route or redemption id`);
    let routed: Routed;
    try {
      routed = await router.pinned(state.route_id);
    } catch (err) {
      throw troubleOf(err);
    }
    let result: Awaited<ReturnType<IssuerRouter['lookup']>>;
    try {
      result = await router.lookup(routed, card, state.redemption_id, ctx.signal);
    } catch (err) {
      throw troubleOf(err);
    }
    if (result.state === 'redeemed') {
      await finishRedeemed(
        ctx,
        state,
        routed,
        result.rawCode,
        result.amount,
        state.actual_face_value ?? state.declared_face_value,
        state.redeem_state,
      );
      return 'done';
    }
    if (result.state === 'pending') {
      await progress(orderId, state.redeem_state, 'await_confirmation', {
        waiting_for: 'issuer_confirmation',
        raw_code: result.rawCode,
      });
      throw new DeferJob(
        routed.route.poll_ms,
        `waiting for ${routed.route.issuer} to confirm redemption ${state.redemption_id}`,
      );
    }
    // not_redeemed: a refusal the table knows ends the order; otherwise the redeem never arrived.
    const row = await codes.row(routed.route.issuer, result.rawCode);
    if (row) {
      const verdict = interpret(row);
      if (verdict.kind === 'refused') {
        deps.observe?.outcome(routed.route.issuer, 'refused');
        const moved = await move(
          orderId,
          'verifying',
          ['issuer_refused'],
          {
            reason: verdict.reason,
            raw_code: result.rawCode,
            redeem_state: redeemAfter(state.redeem_state, 'refuse'),
            waiting_for: null,
            verified_at: clock.now(),
          },
          { redeemFrom: state.redeem_state },
        );
        if (!moved) unrecorded(ctx, orderId, result.rawCode, 'refused');
        return 'done';
      }
      if (verdict.kind === 'review') {
        const moved = await move(
          orderId,
          'verifying',
          ['hold_for_review'],
          {
            reason: verdict.reason,
            raw_code: result.rawCode,
            redeem_state: redeemAfter(state.redeem_state, 'refuse'),
            waiting_for: null,
          },
          { redeemFrom: state.redeem_state },
        );
        if (!moved) unrecorded(ctx, orderId, result.rawCode, 'review');
        return 'done';
      }
    }
    // Confirmed not redeemed: the same redemption id may be sent again.
    if (await progress(orderId, state.redeem_state, 'not_redeemed', { waiting_for: null })) return 'resend';
    return 'done'; // someone else moved it meanwhile
  }

  async function run(orderId: string, ctx: JobContext): Promise<void> {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const state = await readState(orderId);
      if (!state) throw new PermanentJobError(`no order ${orderId}`);
      if (state.status !== 'submitted' && state.status !== 'verifying') return; // moved on already
      const from = state.status;
      // A submitted order becomes `verifying` in the same unit as the first issuer answer is written
      // (one commit fewer per order); `steps` prefixes that start to whatever comes first.
      const steps = (...events: OrderEvent[]): OrderEvent[] =>
        from === 'submitted' ? ['start_verification', ...events] : events;

      let opened: { number: string; secret: string } | undefined;
      try {
        opened = deps.orders.openStoredCard(state);
      } catch (err) {
        if (err instanceof DecryptionError) {
          await move(orderId, from, steps('hold_for_review'), { reason: 'card_unreadable' });
          return;
        }
        throw err;
      }
      if (!opened) throw new PermanentJobError(`order ${orderId} holds no card`);
      const card: IssuerCard = { cardType: state.card_type, ...opened };

      if (needsLookup(state.redeem_state)) {
        if ((await settle(card, state, ctx)) === 'done') return;
        continue;
      }

      // Inquire (safe), on the first route that takes it.
      let inquired: Awaited<ReturnType<IssuerRouter['inquire']>>;
      try {
        inquired = await router.inquire(card, ctx.signal);
      } catch (err) {
        throw troubleOf(err);
      }
      const { routed, value: inquiry } = inquired;
      const issuer = routed.route.issuer;
      const decision = afterInquiry({
        verdict: await verdictOf(issuer, inquiry.rawCode),
        declaredFaceValue: state.declared_face_value,
        actualFaceValue: inquiry.faceValue ?? inquiry.balance,
        policy: await deps.faceValuePolicy(state.channel_id),
        // A reviewer's approval (docs/reviews.md): not sent back to review for the same thing.
        approved: state.approved_at !== null,
      });
      const seen = {
        raw_code: inquiry.rawCode,
        issuer,
        route_id: routed.route.id,
        actual_face_value: inquiry.faceValue ?? null,
      };
      if (decision.action === 'retry')
        throw new Transient('issuer_unavailable', `${issuer} answered ${inquiry.rawCode}`);
      // Risk looks again before a card is redeemed, or refused as stolen (docs/risk.md#stages).
      let recordRisk: ((trx: Transaction<Database>) => Promise<void>) | null = null;
      const stolen = decision.action === 'refuse' && decision.reason === 'card_reported_stolen';
      // An order a reviewer approved is not held again for what they saw.
      if (deps.risk && state.approved_at === null && (decision.action === 'redeem' || stolen)) {
        const looked = await deps.risk.afterIssuer({
          orderId,
          channelId: state.channel_id,
          sellerId: state.seller_id,
          cardType: state.card_type,
          faceValue: decision.action === 'redeem' ? decision.expectedFaceValue : state.declared_face_value,
          currency: state.currency,
          issuerReason: stolen ? 'card_reported_stolen' : null,
        });
        recordRisk = looked.record;
        const v = looked.verdict;
        if (v.action !== 'allow') {
          deps.observe?.outcome(issuer, 'review');
          const event = v.action === 'review' ? 'hold_for_review' : v.action;
          const record = looked.record;
          await move(
            orderId,
            from,
            steps(event),
            { ...seen, reason: v.reason },
            {
              redeemFrom: state.redeem_state,
              also: async (trx) => {
                await record?.(trx as Transaction<Database>);
                return {};
              },
            },
          );
          return;
        }
      }
      const alsoRecord = recordRisk
        ? async (trx: Db) => {
            await recordRisk?.(trx as Transaction<Database>);
            return {};
          }
        : undefined;
      if (decision.action === 'refuse') {
        deps.observe?.outcome(issuer, 'refused');
        await move(
          orderId,
          from,
          steps('issuer_refused'),
          { ...seen, reason: decision.reason, verified_at: clock.now() },
          { redeemFrom: state.redeem_state, ...(alsoRecord ? { also: alsoRecord } : {}) },
        );
        return;
      }
      if (decision.action === 'review') {
        deps.observe?.outcome(issuer, 'review');
        await move(
          orderId,
          from,
          steps('hold_for_review'),
          { ...seen, reason: decision.reason },
          { redeemFrom: state.redeem_state },
        );
        return;
      }

      // Rules in shadow mode fired: on record before the redeem (a retried job may record them again).
      if (recordRisk)
        await committer.run((trx) => (recordRisk as (t: Transaction<Database>) => Promise<void>)(trx));

      // Redeem (not safe): the state moves to `sent` before the call, guarded, so a crash or a twin
      // worker finds it and settles by lookup instead of sending again.
      const redemptionId = state.redemption_id ?? newId('rdm', clock.now());
      const sent = {
        redemption_id: redemptionId,
        route_id: routed.route.id,
        issuer,
        raw_code: inquiry.rawCode,
        // Kept for a settlement by lookup, which may not say the amount.
        actual_face_value: decision.expectedFaceValue,
        ...(decision.mismatch ? { reason: 'face_value_mismatch' } : {}),
      };
      // From submitted, the start event carries the claim (its update is conditioned on `submitted`,
      // which only one worker can see); from verifying, the update is conditioned on `none`.
      const claimed =
        from === 'submitted'
          ? await move(orderId, from, ['start_verification'], {
              ...sent,
              redeem_state: redeemAfter(state.redeem_state, 'send'),
            })
          : await progress(orderId, state.redeem_state, 'send', sent);
      if (!claimed) continue; // another worker got there first: look again
      let redemption: Awaited<ReturnType<IssuerRouter['redeem']>>;
      try {
        redemption = await router.redeem(routed, card, redemptionId, ctx.signal);
      } catch (err) {
        if (err instanceof NotSentError) {
          // Never left this process: the redeem may simply be sent later.
          await progress(orderId, 'sent', 'not_sent');
          throw troubleOf(err);
        }
        if (!(err instanceof IssuerCallError)) throw err;
        await progress(orderId, 'sent', 'outcome_unknown', { raw_code: err.rawCode ?? null });
        ctx.logger.warn(
          { order_id: orderId, issuer, kind: err.kind },
          'redeem outcome unknown; settling by lookup',
        );
        continue; // the next pass settles by lookup
      }
      if (redemption.outcome === 'pending') {
        await progress(orderId, 'sent', 'await_confirmation', {
          waiting_for: 'issuer_confirmation',
          raw_code: redemption.rawCode,
        });
        throw new DeferJob(
          routed.route.poll_ms,
          `waiting for ${issuer} to confirm redemption ${redemptionId}`,
        );
      }
      const verdict = await verdictOf(issuer, redemption.rawCode);
      if (verdict.kind === 'ok') {
        await finishRedeemed(
          ctx,
          { ...state, status: 'verifying' },
          routed,
          redemption.rawCode,
          redemption.amount,
          decision.expectedFaceValue,
          'sent',
        );
        return;
      }
      if (verdict.kind === 'refused') {
        deps.observe?.outcome(issuer, 'refused');
        const moved = await move(
          orderId,
          'verifying',
          ['issuer_refused'],
          {
            reason: verdict.reason,
            raw_code: redemption.rawCode,
            redeem_state: redeemAfter('sent', 'refuse'),
            verified_at: clock.now(),
          },
          { redeemFrom: 'sent' },
        );
        if (!moved) unrecorded(ctx, orderId, redemption.rawCode, 'refused');
        return;
      }
      // "Busy" or a code that means several things, in answer to a redeem: what happened to the
      // card is unknown until a lookup says.
      await progress(orderId, 'sent', 'outcome_unknown', { raw_code: redemption.rawCode });
    }
    throw new Transient('issuer_unavailable', 'the order kept changing under the worker');
  }

  return {
    spec: VERIFY_ORDER,
    async handle(payload, ctx) {
      await run(payload.order_id, ctx);
    },
    /**
     * Attempts ran out. A card whose redeem may have reached the issuer goes to a person
     * (`redemption_unknown`): failing it would release the card while it may be consumed. Otherwise
     * the order fails with the last reason (the typed code of the last failure).
     */
    async onDead(payload, failure, trx) {
      const state = await deps.orders.forVerification(trx, payload.order_id);
      if (!state || (state.status !== 'submitted' && state.status !== 'verifying')) return;
      const now = clock.now();
      const reason: VerifyReason = isVerifyReason(failure.code) ? failure.code : 'issuer_unavailable';
      let from: OrderStatus = state.status;
      if (from === 'submitted') {
        const started = await deps.orders.change(trx, payload.order_id, {
          event: 'start_verification',
          from,
          nowMs: now,
        });
        if (!started.ok) return;
        from = started.to;
      }
      if (state.redeem_state !== 'none') {
        await deps.orders.change(trx, payload.order_id, {
          event: 'hold_for_review',
          from,
          facts: { reason: 'redemption_unknown', waiting_for: null },
          nowMs: now,
        });
        return;
      }
      await deps.orders.change(trx, payload.order_id, {
        event: 'give_up',
        from,
        facts: { reason, verified_at: now },
        nowMs: now,
      });
    },
  };
}
