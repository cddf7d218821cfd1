import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { PricingAdminDeps } from './admin.js';
import type { PriceError, PricingAdminError } from './errors.js';
import type {
  ExplainQuery,
  PriceExplanation,
  RateListQuery,
  RateSheetInput,
  RateSheetView,
} from './model.js';
import { checkRanges, type RateSheet } from './rates.js';
import { acceptedFaces, priceFields } from './service.js';
import {
  findAdjustment,
  findFxRate,
  findPrice,
  findRangeWithSheet,
  insertSheet,
  type PriceRow,
} from './store.js';

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

/** Rate sheets as operators write them, and explanations of any price. */
export function createRatesAdmin(deps: PricingAdminDeps) {
  const { db, committer, clock, book } = deps;

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

  return {
    async addSheet(input: RateSheetInput): Promise<Result<RateSheetView, PricingAdminError['code']>> {
      const type = await deps.cardTypes.find(input.card_type);
      if (!type) return fail('unknown_reference', `No card type ${input.card_type}.`, { field: 'card_type' });
      let tierId = '';
      if (input.tier === 'default') {
        if (input.tier_id !== undefined)
          return fail('invalid_request', 'The default tier has no tier_id.', { field: 'tier_id' });
      } else {
        if (input.tier_id === undefined)
          return fail('invalid_request', `A ${input.tier} sheet needs tier_id.`, { field: 'tier_id' });
        const exists =
          input.tier === 'channel'
            ? await deps.channels.get(input.tier_id)
            : await deps.channels.group(input.tier_id);
        if (!exists)
          return fail('unknown_reference', `No ${input.tier} ${input.tier_id}.`, { field: 'tier_id' });
        tierId = input.tier_id;
      }
      const problem = checkRanges(input.ranges, acceptedFaces(type));
      if (problem) return fail(problem.code, problem.message, { field: problem.field });
      const now = clock.now();
      const earliest = now + book.refreshMs;
      let effectiveFrom = earliest;
      if (input.effective_from !== undefined) {
        effectiveFrom = Date.parse(input.effective_from);
        if (effectiveFrom < earliest)
          return fail(
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
      return ok(sheetView(sheet));
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
    async explain(
      q: ExplainQuery,
    ): Promise<Result<PriceExplanation, PricingAdminError['code'] | PriceError['code']>> {
      const channel = await deps.channels.get(q.channel_id);
      if (!channel) return fail('channel_not_found', `No channel ${q.channel_id}.`, { field: 'channel_id' });
      const type = await deps.cardTypes.find(q.card_type);
      if (!type) return fail('card_type_not_found', `No card type ${q.card_type}.`, { field: 'card_type' });
      if (!acceptedFaces(type).includes(q.face_value))
        return fail('unsupported_face_value', `${type.name} does not accept ${q.face_value}.`, {
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
      if (!computed.ok) return computed;
      return ok(
        await explanation(
          {
            ...computed.value,
            id: '',
            kind: 'explain',
            order_id: null,
            replaces: null,
            created_at: at,
            expires_at: null,
          },
          null,
          'explain',
        ),
      );
    },

    /** Which rows made a stored price (a quote's or an order's). */
    async explainPrice(id: string): Promise<Result<PriceExplanation, PricingAdminError['code']>> {
      const row = await findPrice(db, id);
      if (!row) return fail('resource_not_found', `No price ${id}.`, { field: 'id' });
      return ok(await explanation(row, row.id, row.kind));
    },
  };
}
