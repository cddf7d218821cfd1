import type { FxRateSource } from '../../adapters/fx/port.js';
import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { ApiError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { parseDecimalRate } from '../../shared/money.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import { findCardType } from '../cards/store.js';
import { findChannel, findGroup } from '../channels/store.js';
import { type AdjustmentPolicy, decideAdjustment, type OutcomeCounts } from './adjust.js';
import type { PricingBook } from './book.js';
import { isFresh } from './fx.js';
import type {
  AdjustmentPolicyInput,
  AdjustmentView,
  ExplainQuery,
  FxRateInput,
  FxRateView,
  PriceExplanation,
  RateListQuery,
  RateSheetInput,
  RateSheetView,
} from './model.js';
import { checkRanges, type RateSheet } from './rates.js';
import { acceptedFaces, type PricingService, priceFields } from './service.js';
import {
  type AdjustmentRow,
  type FxRateRow,
  findAdjustment,
  findFxRate,
  findPrice,
  findRangeWithSheet,
  fxQuoteRow,
  insertAdjustment,
  insertFxRates,
  insertSheet,
  latestFxRates,
  listPolicies,
  loadAdjustments,
  outcomeCounts,
  type PolicyRow,
  type PriceRow,
  upsertPolicy,
} from './store.js';

export interface PricingAdminDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  book: PricingBook;
  pricing: PricingService;
  fxMaxAgeMs: number;
}

function sheetView(s: RateSheet): RateSheetView {
  return {
    id: s.id,
    tier: s.tier,
    tier_id: s.tier === 'default' ? null : s.tierId,
    card_type: s.cardType,
    kind: s.kind,
    effective_from: rfc3339(s.effectiveFrom),
    note: s.note,
    created_at: rfc3339(s.createdAt),
    ranges: s.ranges.map((r) => ({ id: r.id, face_min: r.faceMin, face_max: r.faceMax, bps: r.bps })),
  };
}

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

/** Rate tables, automatic adjustment and exchange rates, as operators manage them. */
export function createPricingAdmin(deps: PricingAdminDeps) {
  const { db, committer, clock, book } = deps;

  function fxView(r: FxRateRow, now: number): FxRateView {
    return {
      id: r.id,
      base: r.base,
      quote: r.quote,
      rate: r.rate,
      source: r.source,
      as_of: rfc3339(r.as_of),
      valid_until: r.valid_until === null ? null : rfc3339(r.valid_until),
      fresh: isFresh(fxQuoteRow(r), now, deps.fxMaxAgeMs),
    };
  }

  async function rateUsed(rangeId: string | null) {
    if (!rangeId) return null;
    const r = await findRangeWithSheet(db, rangeId);
    if (!r) return null;
    return {
      range_id: r.id,
      sheet_id: r.sheet_id,
      tier: r.tier,
      tier_id: r.tier === 'default' ? null : r.tier_id,
      face_min: r.face_min,
      face_max: r.face_max,
      bps: r.bps,
      effective_from: rfc3339(r.effective_from),
      note: r.note,
    };
  }

  async function explanation(row: PriceRow, priceId: string | null, kind: string): Promise<PriceExplanation> {
    const rate = await rateUsed(row.rate_range_id);
    if (!rate) throw new Error(`price ${row.id} names a rate range that does not exist`);
    const adjustment = row.adjustment_id ? await findAdjustment(db, row.adjustment_id) : undefined;
    const fxRow = row.fx_rate_id ? await findFxRate(db, row.fx_rate_id) : undefined;
    return {
      price_id: priceId,
      kind,
      channel_id: row.channel_id,
      order_id: row.order_id,
      replaces: row.replaces,
      card_type: row.card_type,
      ...priceFields(row),
      table_rate_bps: row.table_rate_bps,
      commission_bps: row.commission_bps,
      margin_amount: row.margin_amount,
      rate,
      commission: await rateUsed(row.commission_range_id),
      adjustment: adjustment
        ? {
            id: adjustment.id,
            adjustment_bps: adjustment.adjustment_bps,
            floor_bps: adjustment.floor_bps,
            ceiling_bps: adjustment.ceiling_bps,
            reason: adjustment.reason,
            effective_from: rfc3339(adjustment.effective_from),
          }
        : null,
      fx_source: fxRow ? { id: fxRow.id, source: fxRow.source, as_of: rfc3339(fxRow.as_of) } : null,
      expires_at: row.expires_at === null ? null : rfc3339(row.expires_at),
    };
  }

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
    const types = await db.selectFrom('card_types').select(['code', 'issuer']).execute();
    const issuerOf = new Map(types.map((t) => [t.code, t.issuer]));
    for (const windowS of new Set(policies.map((p) => p.window_s))) {
      const byIssuer = new Map<string, OutcomeCounts>();
      for (const r of await outcomeCounts(db, now - windowS * 1000)) {
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

  return {
    async addSheet(input: RateSheetInput): Promise<RateSheetView> {
      const type = await findCardType(db, input.card_type);
      if (!type)
        throw new ApiError('unknown_reference', `No card type ${input.card_type}.`, { field: 'card_type' });
      let tierId = '';
      if (input.tier === 'default') {
        if (input.tier_id !== undefined)
          throw new ApiError('invalid_request', 'The default tier has no tier_id.', { field: 'tier_id' });
      } else {
        if (input.tier_id === undefined)
          throw new ApiError('invalid_request', `A ${input.tier} sheet needs tier_id.`, { field: 'tier_id' });
        const exists =
          input.tier === 'channel'
            ? await findChannel(db, input.tier_id)
            : await findGroup(db, input.tier_id);
        if (!exists)
          throw new ApiError('unknown_reference', `No ${input.tier} ${input.tier_id}.`, { field: 'tier_id' });
        tierId = input.tier_id;
      }
      const problem = checkRanges(input.ranges, acceptedFaces(type));
      if (problem) throw new ApiError(problem.code, problem.message, { field: problem.field });
      const now = clock.now();
      const earliest = now + book.refreshMs;
      let effectiveFrom = earliest;
      if (input.effective_from !== undefined) {
        effectiveFrom = Date.parse(input.effective_from);
        if (effectiveFrom < earliest)
          throw new ApiError(
            'effective_from_too_soon',
            `A change may take effect from ${rfc3339(earliest)} on (every process must see it first); omit effective_from for that.`,
            { field: 'effective_from' },
          );
      }
      const sheet: RateSheet = {
        id: newId('rts', now),
        tier: input.tier,
        tierId,
        cardType: type.code,
        kind: input.kind,
        effectiveFrom,
        note: input.note ?? null,
        createdAt: now,
        ranges: [...input.ranges]
          .sort((a, b) => a.face_min - b.face_min)
          .map((r) => ({ id: newId('rat', now), faceMin: r.face_min, faceMax: r.face_max, bps: r.bps })),
      };
      await committer.run((trx) => insertSheet(trx, sheet));
      book.invalidate();
      return sheetView(sheet);
    },

    async listSheets(q: RateListQuery): Promise<RateSheetView[]> {
      const { rates } = await book.current();
      const at = q.at ? Date.parse(q.at) : clock.now();
      const sheets = q.history ? rates.history() : rates.allInForce(at);
      return sheets
        .filter(
          (s) =>
            (!q.card_type || s.cardType === q.card_type) &&
            (!q.tier || s.tier === q.tier) &&
            (!q.tier_id || s.tierId === q.tier_id) &&
            (!q.kind || s.kind === q.kind),
        )
        .sort(
          (a, b) =>
            a.cardType.localeCompare(b.cardType) ||
            a.kind.localeCompare(b.kind) ||
            a.tier.localeCompare(b.tier) ||
            a.tierId.localeCompare(b.tierId) ||
            a.effectiveFrom - b.effectiveFrom,
        )
        .map(sheetView);
    },

    /** What a channel would be paid for a card at a moment, and which rows say so. */
    async explain(q: ExplainQuery): Promise<PriceExplanation> {
      const channel = await findChannel(db, q.channel_id);
      if (!channel)
        throw new ApiError('channel_not_found', `No channel ${q.channel_id}.`, { field: 'channel_id' });
      const type = await findCardType(db, q.card_type);
      if (!type)
        throw new ApiError('card_type_not_found', `No card type ${q.card_type}.`, { field: 'card_type' });
      if (!acceptedFaces(type).includes(q.face_value))
        throw new ApiError('unsupported_face_value', `${type.name} does not accept ${q.face_value}.`, {
          field: 'face_value',
        });
      const at = q.at ? Date.parse(q.at) : clock.now();
      const computed = deps.pricing.compute(
        await book.current(),
        channel,
        type,
        q.face_value,
        at,
        'face_value',
      );
      return explanation(
        {
          ...computed,
          id: '',
          kind: 'explain',
          order_id: null,
          replaces: null,
          created_at: at,
          expires_at: null,
        },
        null,
        'explain',
      );
    },

    /** Which rows made a stored price (a quote's or an order's). */
    async explainPrice(id: string): Promise<PriceExplanation> {
      const row = await findPrice(db, id);
      if (!row) throw new ApiError('resource_not_found', `No price ${id}.`, { field: 'id' });
      return explanation(row, row.id, row.kind);
    },

    async putPolicy(cardType: string, input: AdjustmentPolicyInput): Promise<AdjustmentView> {
      if (!(await findCardType(db, cardType)))
        throw new ApiError('card_type_not_found', `No card type ${cardType}.`, { field: 'card_type' });
      if (input.floor_bps > input.ceiling_bps)
        throw new ApiError('invalid_request', 'floor_bps must not be above ceiling_bps.', {
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
      await this.adjustAll([cardType]);
      const all = await loadAdjustments(db);
      return adjustmentView(cardType, row, all);
    },

    async listAdjustments(): Promise<AdjustmentView[]> {
      const policies = new Map((await listPolicies(db)).map((p) => [p.card_type, p]));
      const all = await loadAdjustments(db);
      const types = [...new Set([...policies.keys(), ...all.map((a) => a.card_type)])].sort();
      return types.map((t) => adjustmentView(t, policies.get(t), all));
    },

    async getAdjustment(cardType: string): Promise<AdjustmentView> {
      if (!(await findCardType(db, cardType)))
        throw new ApiError('card_type_not_found', `No card type ${cardType}.`, { field: 'card_type' });
      const policy = (await listPolicies(db)).find((p) => p.card_type === cardType);
      return adjustmentView(cardType, policy, await loadAdjustments(db));
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

    async putManualFx(base: string, quote: string, input: FxRateInput): Promise<FxRateView> {
      if (base === quote)
        throw new ApiError('invalid_request', 'A rate converts between two different currencies.', {
          field: 'quote',
        });
      try {
        parseDecimalRate(input.rate);
      } catch {
        throw new ApiError('invalid_request', 'rate must be above zero.', { field: 'rate' });
      }
      const now = clock.now();
      const row: FxRateRow = {
        id: newId('fxr', now),
        base,
        quote,
        rate: input.rate,
        source: 'manual',
        as_of: now,
        valid_until: now + input.valid_for_s * 1000,
        used: 0,
        created_at: now,
      };
      await committer.run((trx) => insertFxRates(trx, [row]));
      book.invalidate();
      return fxView(row, now);
    },

    async listFx(): Promise<FxRateView[]> {
      const now = clock.now();
      return (await latestFxRates(db)).map((r) => fxView(r, now));
    },

    /** The FX refresh job: reads the feed and stores what it says. Returns how many rates were new. */
    async refreshFx(source: FxRateSource, signal?: AbortSignal): Promise<number> {
      const quotes = await source.latest(signal);
      const now = clock.now();
      const rows: FxRateRow[] = quotes.map((q) => ({
        id: newId('fxr', now),
        base: q.base,
        quote: q.quote,
        rate: q.rate,
        source: 'feed',
        as_of: q.asOf,
        valid_until: null,
        used: 0,
        created_at: now,
      }));
      const added = await committer.run(async (trx) => {
        let n = 0;
        for (const r of rows) {
          // A feed that has not moved since the last read adds nothing.
          const r2 = await trx
            .insertInto('fx_rates')
            .values(r)
            .onConflict((oc) => oc.columns(['source', 'base', 'quote', 'as_of']).doNothing())
            .executeTakeFirst();
          n += Number(r2.numInsertedOrUpdatedRows ?? 0);
        }
        return n;
      });
      if (added > 0) book.invalidate();
      return added;
    },
  };
}

export type PricingAdmin = ReturnType<typeof createPricingAdmin>;
