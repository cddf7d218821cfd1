import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import { type AdjustmentPolicy, decideAdjustment, type OutcomeCounts } from './adjust.js';
import type { PricingAdminDeps } from './admin.js';
import type { PricingAdminError } from './errors.js';
import type { AdjustmentPolicyInput, AdjustmentView } from './model.js';
import {
  type AdjustmentRow,
  insertAdjustment,
  listPolicies,
  loadAdjustments,
  type PolicyRow,
  upsertPolicy,
} from './store.js';

function policyOf(row: PolicyRow): AdjustmentPolicy {
  return {
    enabled: row.enabled === 1,
    windowS: row.window_s,
    minOrders: row.min_orders,
    failureRateBps: row.failure_rate_bps,
    reviewRateBps: row.review_rate_bps,
    stepBps: row.step_bps,
    floorBps: row.floor_bps,
    ceilingBps: row.ceiling_bps,
  };
}

function policyView(row: PolicyRow): AdjustmentPolicyInput {
  return {
    enabled: row.enabled === 1,
    window_s: row.window_s,
    min_orders: row.min_orders,
    failure_rate_bps: row.failure_rate_bps,
    review_rate_bps: row.review_rate_bps,
    step_bps: row.step_bps,
    floor_bps: row.floor_bps,
    ceiling_bps: row.ceiling_bps,
  };
}

function adjustmentEventView(a: AdjustmentRow) {
  return {
    id: a.id,
    adjustment_bps: a.adjustment_bps,
    floor_bps: a.floor_bps,
    ceiling_bps: a.ceiling_bps,
    reason: a.reason,
    outcomes: { total: a.outcomes_total, failed: a.outcomes_failed, review: a.outcomes_review },
    effective_from: rfc3339(a.effective_from),
    created_at: rfc3339(a.created_at),
  };
}

/** Automatic price adjustment: policies per card type, and the job that judges them. */
export function createAdjustmentAdmin(deps: PricingAdminDeps) {
  const { db, committer, clock, book } = deps;

  /** Judges one card type's adjustment against its issuer's outcomes; writes a change if there is one. */
  async function judge(
    policy: PolicyRow,
    counts: OutcomeCounts,
    current: AdjustmentRow | undefined,
    now: number,
  ): Promise<AdjustmentRow | undefined> {
    const change = decideAdjustment(policyOf(policy), counts, current?.adjustment_bps ?? 0);
    if (!change) return undefined;
    const row: AdjustmentRow = {
      id: newId('adj', now),
      card_type: policy.card_type,
      adjustment_bps: change.adjustmentBps,
      floor_bps: policy.floor_bps,
      ceiling_bps: policy.ceiling_bps,
      reason: change.reason,
      outcomes_total: counts.total,
      outcomes_failed: counts.failed,
      outcomes_review: counts.review,
      // Like a rate change: every process sees it before it applies.
      effective_from: now + book.refreshMs,
      created_at: now,
    };
    await committer.run((trx) => insertAdjustment(trx, row));
    return row;
  }

  /** Outcomes per issuer over the window, mapped to the card types of `policies`. */
  async function countsFor(policies: PolicyRow[], now: number): Promise<Map<string, OutcomeCounts>> {
    const out = new Map<string, OutcomeCounts>();
    const types = await deps.cardTypes.list({ enabledOnly: false });
    const issuerOf = new Map(types.map((t) => [t.code, t.issuer]));
    for (const windowS of new Set(policies.map((p) => p.window_s))) {
      const byIssuer = new Map<string, OutcomeCounts>();
      for (const r of await deps.outcomeCounts(db, now - windowS * 1000)) {
        const issuer = issuerOf.get(r.card_type);
        if (!issuer) continue;
        const c = byIssuer.get(issuer) ?? { total: 0, failed: 0, review: 0 };
        const n = Number(r.n);
        c.total += n;
        if (r.to_status === 'failed') c.failed += n;
        if (r.to_status === 'review') c.review += n;
        byIssuer.set(issuer, c);
      }
      for (const p of policies) {
        if (p.window_s !== windowS) continue;
        const issuer = issuerOf.get(p.card_type);
        out.set(p.card_type, (issuer && byIssuer.get(issuer)) || { total: 0, failed: 0, review: 0 });
      }
    }
    return out;
  }

  const latestByType = (rows: AdjustmentRow[]) => {
    const m = new Map<string, AdjustmentRow>();
    for (const a of rows) m.set(a.card_type, a); // rows are oldest first
    return m;
  };

  function adjustmentView(cardType: string, policy: PolicyRow | undefined, all: AdjustmentRow[]) {
    const mine = all.filter((a) => a.card_type === cardType);
    const now = clock.now();
    const current = mine.findLast((a) => a.effective_from <= now) ?? null;
    return {
      card_type: cardType,
      policy: policy ? policyView(policy) : null,
      current: current ? adjustmentEventView(current) : null,
      history: mine.slice(-100).reverse().map(adjustmentEventView),
    } satisfies AdjustmentView;
  }

  const admin = {
    async putPolicy(
      cardType: string,
      input: AdjustmentPolicyInput,
    ): Promise<Result<AdjustmentView, PricingAdminError['code']>> {
      if (!(await deps.cardTypes.find(cardType)))
        return fail('card_type_not_found', `No card type ${cardType}.`, { field: 'card_type' });
      if (input.floor_bps > input.ceiling_bps)
        return fail('invalid_request', 'floor_bps must not be above ceiling_bps.', {
          field: 'floor_bps',
        });
      const now = clock.now();
      const row: PolicyRow = {
        card_type: cardType,
        enabled: input.enabled ? 1 : 0,
        window_s: input.window_s,
        min_orders: input.min_orders,
        failure_rate_bps: input.failure_rate_bps,
        review_rate_bps: input.review_rate_bps,
        step_bps: input.step_bps,
        floor_bps: input.floor_bps,
        ceiling_bps: input.ceiling_bps,
        updated_at: now,
      };
      await upsertPolicy(db, row);
      // Judged at once: switching off lifts a lowering now, not at the next run.
      await admin.adjustAll([cardType]);
      const all = await loadAdjustments(db);
      return ok(adjustmentView(cardType, row, all));
    },

    async listAdjustments(): Promise<AdjustmentView[]> {
      const policies = new Map((await listPolicies(db)).map((p) => [p.card_type, p]));
      const all = await loadAdjustments(db);
      const types = [...new Set([...policies.keys(), ...all.map((a) => a.card_type)])].sort();
      return types.map((t) => adjustmentView(t, policies.get(t), all));
    },

    async getAdjustment(cardType: string): Promise<Result<AdjustmentView, PricingAdminError['code']>> {
      if (!(await deps.cardTypes.find(cardType)))
        return fail('card_type_not_found', `No card type ${cardType}.`, { field: 'card_type' });
      const policy = (await listPolicies(db)).find((p) => p.card_type === cardType);
      return ok(adjustmentView(cardType, policy, await loadAdjustments(db)));
    },

    /** The adjustment job: re-judges card types with a policy; returns the changes written. */
    async adjustAll(only?: string[]): Promise<AdjustmentRow[]> {
      const now = clock.now();
      const policies = (await listPolicies(db)).filter((p) => !only || only.includes(p.card_type));
      if (policies.length === 0) return [];
      const counts = await countsFor(policies, now);
      const latest = latestByType(await loadAdjustments(db));
      const written: AdjustmentRow[] = [];
      for (const p of policies) {
        const row = await judge(
          p,
          counts.get(p.card_type) ?? { total: 0, failed: 0, review: 0 },
          latest.get(p.card_type),
          now,
        );
        if (row) written.push(row);
      }
      if (written.length > 0) book.invalidate();
      return written;
    },
  };
  return admin;
}
