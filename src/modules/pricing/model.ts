import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';
import { CURRENCY_CODES, DECIMAL_RATE_PATTERN } from '../../shared/money.js';
import { RATE_KINDS, TIERS } from './rates.js';

const Bps = (description: string) => Type.Integer({ minimum: 0, maximum: 10_000, description });
const Face = (description: string) => Type.Integer({ minimum: 1, maximum: 100_000_000, description });
const Time = (description?: string) =>
  Type.String({ format: 'date-time', ...(description ? { description } : {}) });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
export const CurrencySchema = Type.Union(
  CURRENCY_CODES.map((c) => Type.Literal(c)),
  { description: 'ISO 4217 code, or USDT.' },
);
const CardTypeCode = Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$' });

// ---- channel API ---------------------------------------------------------------------------------

export const QuoteQuery = Type.Object(
  {
    card_type: CardTypeCode,
    face_value: Face('Face value in minor units (fen).'),
  },
  { additionalProperties: false },
);
export type QuoteQuery = Static<typeof QuoteQuery>;

export const FxApplied = Type.Object(
  {
    base: Type.String(),
    quote: Type.String(),
    rate: Type.String({ description: '1 base = rate quote, exact decimal as published.' }),
    as_of: Time('When the source says the rate was true.'),
  },
  { description: 'The exchange rate the payout was converted at; null when no conversion was needed.' },
);
export type FxApplied = Static<typeof FxApplied>;

const priceFields = {
  face_value: Type.Integer(),
  currency: Type.String({ description: "The card's currency." }),
  rate_bps: Bps('Share of the face value paid for the card, in basis points (9 600 = 96 %).'),
  seller_amount: Type.Integer({
    description: 'What the card is bought for, in the card currency (minor units).',
  }),
  commission_amount: Type.Integer({ description: "The channel's commission, in the card currency." }),
  payout_amount: Type.Integer({ description: 'What the seller is paid, in payout_currency (minor units).' }),
  payout_currency: Type.String(),
  fx: Nullable(FxApplied),
  priced_at: Time(),
};

export const QuoteView = Type.Object(
  {
    quote_id: Type.String({ examples: ['quo_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    card_type: Type.String(),
    ...priceFields,
    expires_at: Time('Submit the order with this quote_id before then to be paid this amount.'),
  },
  { title: 'Quote' },
);
export type QuoteView = Static<typeof QuoteView>;

export const OrderPrice = Type.Object(
  {
    price_id: Type.String(),
    quote_id: Nullable(Type.String()),
    ...priceFields,
  },
  { title: 'OrderPrice', description: 'The price the order is settled at.' },
);
export type OrderPrice = Static<typeof OrderPrice>;

// ---- admin: rates ---------------------------------------------------------------------------------

const RangeInput = Type.Object(
  {
    face_min: Face('Lowest face value of the range, inclusive.'),
    face_max: Face('Highest face value of the range, inclusive.'),
    bps: Bps('rate: share of the face value paid; commission: the channel share of the margin.'),
  },
  { additionalProperties: false },
);

export const RateSheetInput = Type.Object(
  {
    tier: Type.Union(
      TIERS.map((t) => Type.Literal(t)),
      { description: 'Most specific wins: channel, then group, then default.' },
    ),
    tier_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Channel or group id; absent for default.' }),
    ),
    card_type: CardTypeCode,
    kind: Type.Union(
      RATE_KINDS.map((k) => Type.Literal(k)),
      { default: 'rate' },
    ),
    effective_from: Type.Optional(
      Time('When the sheet takes over; at least RECARD_PRICING_REFRESH_MS from now (that is the default).'),
    ),
    note: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ranges: Type.Array(RangeInput, {
      maxItems: 100,
      description: 'Disjoint ranges; an empty list withdraws this tier for the card type.',
    }),
  },
  { additionalProperties: false },
);
export type RateSheetInput = Static<typeof RateSheetInput>;

export const RangeView = Type.Object({
  id: Type.String(),
  face_min: Type.Integer(),
  face_max: Type.Integer(),
  bps: Type.Integer(),
});

export const RateSheetView = Type.Object(
  {
    id: Type.String(),
    tier: Type.String(),
    tier_id: Nullable(Type.String()),
    card_type: Type.String(),
    kind: Type.String(),
    effective_from: Time(),
    note: Nullable(Type.String()),
    created_at: Time(),
    ranges: Type.Array(RangeView),
  },
  { title: 'RateSheet' },
);
export type RateSheetView = Static<typeof RateSheetView>;

export const RateListQuery = Type.Object(
  {
    card_type: Type.Optional(CardTypeCode),
    tier: Type.Optional(Type.Union(TIERS.map((t) => Type.Literal(t)))),
    tier_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    kind: Type.Optional(Type.Union(RATE_KINDS.map((k) => Type.Literal(k)))),
    at: Type.Optional(Time('The sheets in force at this time (default: now).')),
    history: Type.Boolean({ default: false, description: 'Every version ever written instead.' }),
  },
  { additionalProperties: false },
);
export type RateListQuery = Static<typeof RateListQuery>;
export const RateSheetList = Type.Object({ data: Type.Array(RateSheetView) });
export type RateSheetList = Static<typeof RateSheetList>;

export const ExplainQuery = Type.Object(
  {
    channel_id: Type.String({ minLength: 1, maxLength: 64 }),
    card_type: CardTypeCode,
    face_value: Face('Face value in minor units.'),
    at: Type.Optional(Time('Default: now.')),
  },
  { additionalProperties: false },
);
export type ExplainQuery = Static<typeof ExplainQuery>;

const RateUsed = Type.Object({
  range_id: Type.String(),
  sheet_id: Type.String(),
  tier: Type.String(),
  tier_id: Nullable(Type.String()),
  face_min: Type.Integer(),
  face_max: Type.Integer(),
  bps: Type.Integer(),
  effective_from: Time(),
  note: Nullable(Type.String()),
});

export const PriceExplanation = Type.Object(
  {
    price_id: Nullable(Type.String({ description: 'Null for a what-if (GET /admin/v1/rates/explain).' })),
    kind: Type.String({ description: 'quote, intake, reprice or explain.' }),
    channel_id: Type.String(),
    order_id: Nullable(Type.String()),
    replaces: Nullable(Type.String()),
    card_type: Type.String(),
    ...priceFields,
    table_rate_bps: Type.Integer({ description: 'The rate of the table, before any automatic adjustment.' }),
    commission_bps: Type.Integer(),
    margin_amount: Type.Integer({ description: "The platform's part, rounding remainders included." }),
    rate: RateUsed,
    commission: Nullable(RateUsed),
    adjustment: Nullable(
      Type.Object({
        id: Type.String(),
        adjustment_bps: Type.Integer(),
        floor_bps: Type.Integer(),
        ceiling_bps: Type.Integer(),
        reason: Type.String(),
        effective_from: Time(),
      }),
    ),
    fx_source: Nullable(Type.Object({ id: Type.String(), source: Type.String(), as_of: Time() })),
    expires_at: Nullable(Time()),
  },
  { title: 'PriceExplanation' },
);
export type PriceExplanation = Static<typeof PriceExplanation>;
export const PriceParams = Type.Object({ id: Type.String({ pattern: '^(quo|prc)_[0-9a-z]{26}$' }) });

// ---- admin: automatic adjustment ------------------------------------------------------------------

export const AdjustmentPolicyInput = Type.Object(
  {
    enabled: Type.Boolean(),
    window_s: Type.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
    min_orders: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
    failure_rate_bps: Bps('Lower the rate when this share of verifications fails (2 000 = 20 %).'),
    review_rate_bps: Bps('… or when this share goes to review.'),
    step_bps: Type.Integer({ minimum: 1, maximum: 10_000, description: 'How much the rate is lowered.' }),
    floor_bps: Bps('An adjusted rate never goes below this.'),
    ceiling_bps: Bps('An adjusted rate never goes above this.'),
  },
  { additionalProperties: false },
);
export type AdjustmentPolicyInput = Static<typeof AdjustmentPolicyInput>;

export const AdjustmentEventView = Type.Object({
  id: Type.String(),
  adjustment_bps: Type.Integer(),
  floor_bps: Type.Integer(),
  ceiling_bps: Type.Integer(),
  reason: Type.String(),
  outcomes: Type.Object({ total: Type.Integer(), failed: Type.Integer(), review: Type.Integer() }),
  effective_from: Time(),
  created_at: Time(),
});

export const AdjustmentView = Type.Object(
  {
    card_type: Type.String(),
    policy: Nullable(AdjustmentPolicyInput),
    current: Nullable(AdjustmentEventView),
    history: Type.Array(AdjustmentEventView, { description: 'Newest first, up to 100.' }),
  },
  { title: 'RateAdjustment' },
);
export type AdjustmentView = Static<typeof AdjustmentView>;
export const AdjustmentList = Type.Object({ data: Type.Array(AdjustmentView) });
export const CardTypeParams = Type.Object({ card_type: CardTypeCode });

// ---- admin: FX ------------------------------------------------------------------------------------

export const FxRateInput = Type.Object(
  {
    rate: Type.String({
      pattern: DECIMAL_RATE_PATTERN,
      description: '1 base = rate quote, as decimal text.',
    }),
    valid_for_s: Type.Integer({
      minimum: 60,
      maximum: 7 * 86_400,
      default: 3_600,
      description: 'How long this manual rate may be used when the feed is stale.',
    }),
  },
  { additionalProperties: false },
);
export type FxRateInput = Static<typeof FxRateInput>;
export const FxPairParams = Type.Object({ base: CurrencySchema, quote: CurrencySchema });

export const FxRateView = Type.Object(
  {
    id: Type.String(),
    base: Type.String(),
    quote: Type.String(),
    rate: Type.String(),
    source: Type.String({ description: '`feed` or `manual`.' }),
    as_of: Time(),
    valid_until: Nullable(Time()),
    fresh: Type.Boolean({ description: 'Usable for pricing now.' }),
  },
  { title: 'FxRate' },
);
export type FxRateView = Static<typeof FxRateView>;
export const FxRateList = Type.Object({ data: Type.Array(FxRateView) });

// ---- jobs -----------------------------------------------------------------------------------------

/** Reads the exchange-rate feed and stores its rates. */
export const REFRESH_FX = defineJobKind<Record<string, never>>({
  kind: 'pricing.fx_refresh',
  maxAttempts: 1,
  timeoutMs: 30_000,
  backoff: { baseMs: 1_000, capMs: 10_000 },
});

/** Re-judges every card type's automatic adjustment from its issuer's recent outcomes. */
export const ADJUST_RATES = defineJobKind<Record<string, never>>({
  kind: 'pricing.adjust',
  maxAttempts: 1,
  timeoutMs: 30_000,
  backoff: { baseMs: 1_000, capMs: 10_000 },
});

/** Deletes quotes that expired long ago and no order was settled by, and feed rates no price used. */
export const PRUNE_PRICING = defineJobKind<{ keep_ms: number }>({
  kind: 'pricing.prune',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});
