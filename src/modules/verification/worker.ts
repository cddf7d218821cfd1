import type { IssuerCard } from '../../adapters/issuers/port.js';
import { IssuerCallError } from '../../adapters/issuers/port.js';
import { DeferJob, type JobContext, type JobHandler, PermanentJobError } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import { DecryptionError } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { FaceValuePolicy } from '../channels/model.js';
import type { OrderEvent, OrderStatus } from '../orders/lifecycle.js';
import { VERIFY_ORDER } from '../orders/model.js';
import { applyOrderEvent, type OrderOutcome } from '../orders/store.js';
import type { CodeBook } from './code-book.js';
import { afterInquiry, interpret, type Verdict } from './decide.js';
import type { RedeemState, VerifyReason } from './model.js';
import { NotSentError } from './resilience.js';
import { type IssuerRouter, NoRouteError, type Routed } from './router.js';
import { recordProgress, verificationState } from './store.js';

/**
 * The verify job (design.md §1 step 2): inquire, then redeem, then move the order, each step
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
  /** Opens the card stored with an order (throws DecryptionError if it was altered). */
  openCard(order: { id: string; card_wrapped_key: string | null; card_ciphertext: string | null }):
    | {
        number: string;
        secret: string;
      }
    | undefined;
  onUnknownCode?(issuer: string, rawCode: string): void;
  onOutcome?(issuer: string, outcome: string): void;
  /**
   * Runs in the redeem's transaction: an order redeemed at another face value than it was priced at
   * gets its price for the actual value (pricing's reprice).
   */
  reprice?(trx: Db, orderId: string, actualFace: number, nowMs: number): Promise<unknown>;
  /** Orders the worker moved (tests and the event stream listen). */
  onMoved?(orderId: string, event: OrderEvent): void;
}

/** Passes through the steps in one run: an unknown redeem takes another pass, to settle by lookup. */
const MAX_PASSES = 3;
const UNSENT_STATES: RedeemState[] = ['none'];

/** Trouble worth another attempt of the job, with the reason the order shows if attempts run out. */
class Transient extends Error {
  override name = 'IssuerTrouble';
  constructor(
    readonly reason: VerifyReason,
    message: string,
  ) {
    super(`${reason}: ${message}`);
  }
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

export function verifyOrderHandler(deps: VerifyDeps): JobHandler<{ order_id: string }> {
  const { committer, clock, router, codes } = deps;

  /**
   * Applies lifecycle events in one unit; the outcome columns go with the last. `from` is the status
   * the order was read in (the updates still check it, so a raced order is left alone).
   */
  async function move(
    orderId: string,
    from: OrderStatus,
    events: OrderEvent[],
    reason: string | null,
    outcome: OrderOutcome,
    also?: (trx: Db, nowMs: number) => Promise<unknown>,
  ): Promise<boolean> {
    const now = clock.now();
    const moved = await committer.run(async (trx) => {
      let status = from;
      for (const [i, event] of events.entries()) {
        const last = i === events.length - 1;
        const step = await applyOrderEvent(
          trx,
          orderId,
          event,
          now,
          last ? reason : null,
          last ? outcome : {},
          status,
        );
        if (!step.ok) return false;
        status = step.to;
      }
      await also?.(trx, now);
      return true;
    });
    if (moved) for (const e of events) deps.onMoved?.(orderId, e);
    return moved;
  }

  /** Redeem progress goes through the committer too: many workers' steps share one commit on SQLite. */
  const progress = (
    orderId: string,
    from: string,
    changes: Parameters<typeof recordProgress>[3],
    nowMs: number,
  ) => committer.run((trx) => recordProgress(trx, orderId, from, changes, nowMs));

  const verdictOf = async (issuer: string, rawCode: string): Promise<Verdict> => {
    const verdict = await codes.verdict(issuer, rawCode);
    if (verdict.kind === 'review' && verdict.reason === 'unknown_code') deps.onUnknownCode?.(issuer, rawCode);
    return verdict;
  };

  async function finishRedeemed(
    orderId: string,
    routed: Routed,
    rawCode: string,
    amount: number | undefined,
    fallbackAmount: number | null,
    /** The face value the order was priced at: another actual value means a new price. */
    declaredFaceValue: number,
  ) {
    deps.onOutcome?.(routed.route.issuer, 'redeemed');
    const actual = amount ?? fallbackAmount;
    const reprice = deps.reprice;
    await move(
      orderId,
      'verifying',
      ['redeem'],
      null,
      {
        raw_code: rawCode,
        actual_face_value: actual,
        redeem_state: 'confirmed',
        waiting_for: null,
        verified_at: clock.now(),
        route_id: routed.route.id,
        issuer: routed.route.issuer,
      },
      reprice && actual !== null && actual !== declaredFaceValue
        ? (trx, now) => reprice(trx, orderId, actual, now)
        : undefined,
    );
  }

  /** Settles a redeem that may have reached the issuer: only lookup may say what happened. */
  async function settle(
    orderId: string,
    card: IssuerCard,
    state: NonNullable<Awaited<ReturnType<typeof verificationState>>>,
    ctx: JobContext,
  ): Promise<'done' | 'resend'> {
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
        orderId,
        routed,
        result.rawCode,
        result.amount,
        state.actual_face_value ?? state.declared_face_value,
        state.declared_face_value,
      );
      return 'done';
    }
    if (result.state === 'pending') {
      await progress(
        orderId,
        state.redeem_state,
        { redeem_state: 'pending', waiting_for: 'issuer_confirmation', raw_code: result.rawCode },
        clock.now(),
      );
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
        deps.onOutcome?.(routed.route.issuer, 'refused');
        await move(orderId, 'verifying', ['issuer_refused'], verdict.reason, {
          reason: verdict.reason,
          raw_code: result.rawCode,
          redeem_state: 'refused',
          waiting_for: null,
          verified_at: clock.now(),
        });
        return 'done';
      }
      if (verdict.kind === 'review') {
        await move(orderId, 'verifying', ['hold_for_review'], verdict.reason, {
          reason: verdict.reason,
          raw_code: result.rawCode,
          redeem_state: 'refused',
          waiting_for: null,
        });
        return 'done';
      }
    }
    // Confirmed not redeemed: the same redemption id may be sent again.
    if (await progress(orderId, state.redeem_state, { redeem_state: 'none', waiting_for: null }, clock.now()))
      return 'resend';
    return 'done'; // someone else moved it meanwhile
  }

  async function run(orderId: string, ctx: JobContext): Promise<void> {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const state = await verificationState(deps.db, orderId);
      if (!state) throw new PermanentJobError(`no order ${orderId}`);
      if (state.status !== 'submitted' && state.status !== 'verifying') return; // moved on already
      const from = state.status as OrderStatus;
      // A submitted order becomes `verifying` in the same unit as the first issuer answer is written
      // (one commit fewer per order); `steps` prefixes that start to whatever comes first.
      const steps = (...events: OrderEvent[]): OrderEvent[] =>
        from === 'submitted' ? ['start_verification', ...events] : events;

      let opened: { number: string; secret: string } | undefined;
      try {
        opened = deps.openCard(state);
      } catch (err) {
        if (err instanceof DecryptionError) {
          await move(orderId, from, steps('hold_for_review'), 'card_unreadable', {
            reason: 'card_unreadable',
          });
          return;
        }
        throw err;
      }
      if (!opened) throw new PermanentJobError(`order ${orderId} holds no card`);
      const card: IssuerCard = { cardType: state.card_type, ...opened };

      if (!UNSENT_STATES.includes(state.redeem_state as RedeemState)) {
        if ((await settle(orderId, card, state, ctx)) === 'done') return;
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
        policy: state.face_value_policy as FaceValuePolicy,
      });
      const seen = {
        raw_code: inquiry.rawCode,
        issuer,
        route_id: routed.route.id,
        actual_face_value: inquiry.faceValue ?? null,
      };
      if (decision.action === 'retry')
        throw new Transient('issuer_unavailable', `${issuer} answered ${inquiry.rawCode}`);
      if (decision.action === 'refuse') {
        deps.onOutcome?.(issuer, 'refused');
        await move(orderId, from, steps('issuer_refused'), decision.reason, {
          ...seen,
          reason: decision.reason,
          verified_at: clock.now(),
        });
        return;
      }
      if (decision.action === 'review') {
        deps.onOutcome?.(issuer, 'review');
        await move(orderId, from, steps('hold_for_review'), decision.reason, {
          ...seen,
          reason: decision.reason,
        });
        return;
      }

      // Redeem (not safe): the state moves to `sent` before the call, guarded, so a crash or a twin
      // worker finds it and settles by lookup instead of sending again.
      const redemptionId = state.redemption_id ?? newId('rdm', clock.now());
      const sent = {
        redeem_state: 'sent',
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
          ? await move(orderId, from, ['start_verification'], null, sent)
          : await progress(orderId, 'none', sent, clock.now());
      if (!claimed) continue; // another worker got there first: look again
      let redemption: Awaited<ReturnType<IssuerRouter['redeem']>>;
      try {
        redemption = await router.redeem(routed, card, redemptionId, ctx.signal);
      } catch (err) {
        if (err instanceof NotSentError) {
          // Never left this process: the redeem may simply be sent later.
          await progress(orderId, 'sent', { redeem_state: 'none' }, clock.now());
          throw troubleOf(err);
        }
        if (!(err instanceof IssuerCallError)) throw err;
        await progress(
          orderId,
          'sent',
          { redeem_state: 'unknown', raw_code: err.rawCode ?? null },
          clock.now(),
        );
        ctx.logger.warn(
          { order_id: orderId, issuer, kind: err.kind },
          'redeem outcome unknown; settling by lookup',
        );
        continue; // the next pass settles by lookup
      }
      if (redemption.outcome === 'pending') {
        await progress(
          orderId,
          'sent',
          { redeem_state: 'pending', waiting_for: 'issuer_confirmation', raw_code: redemption.rawCode },
          clock.now(),
        );
        throw new DeferJob(
          routed.route.poll_ms,
          `waiting for ${issuer} to confirm redemption ${redemptionId}`,
        );
      }
      const verdict = await verdictOf(issuer, redemption.rawCode);
      if (verdict.kind === 'ok') {
        await finishRedeemed(
          orderId,
          routed,
          redemption.rawCode,
          redemption.amount,
          decision.expectedFaceValue,
          state.declared_face_value,
        );
        return;
      }
      if (verdict.kind === 'refused') {
        deps.onOutcome?.(issuer, 'refused');
        await move(orderId, 'verifying', ['issuer_refused'], verdict.reason, {
          reason: verdict.reason,
          raw_code: redemption.rawCode,
          redeem_state: 'refused',
          verified_at: clock.now(),
        });
        return;
      }
      // "Busy" or a code that means several things, in answer to a redeem: what happened to the
      // card is unknown until a lookup says.
      await progress(orderId, 'sent', { redeem_state: 'unknown', raw_code: redemption.rawCode }, clock.now());
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
     * the order fails with the last reason.
     */
    async onDead(payload, lastError, trx) {
      const state = await verificationState(trx, payload.order_id);
      if (!state || (state.status !== 'submitted' && state.status !== 'verifying')) return;
      const now = clock.now();
      const reason = /^IssuerTrouble: ([a-z_]+):/.exec(lastError)?.[1] ?? 'issuer_unavailable';
      if (state.status === 'submitted')
        await applyOrderEvent(trx, payload.order_id, 'start_verification', now);
      if (!UNSENT_STATES.includes(state.redeem_state as RedeemState)) {
        await applyOrderEvent(trx, payload.order_id, 'hold_for_review', now, 'redemption_unknown', {
          reason: 'redemption_unknown',
          waiting_for: null,
        });
        return;
      }
      await applyOrderEvent(trx, payload.order_id, 'give_up', now, reason, { reason, verified_at: now });
    },
  };
}
