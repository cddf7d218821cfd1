import { type Static, Type } from '@sinclair/typebox';
import { OrderView } from '../orders/index.js';

/** Where the order stopped: risk at intake, after the issuer answered, or a redeem of unknown outcome. */
export const REVIEW_STAGES = ['intake', 'issuer', 'redeem'] as const;
export type ReviewStage = (typeof REVIEW_STAGES)[number];

export const REVIEW_STATUSES = ['open', 'claimed', 'info_requested', 'decided'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export const REVIEW_DECISIONS = ['approve', 'reject', 'request_info'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

/** Reasons a reviewer may not approve: nothing can verify a card whose stored secret cannot be read. */
export const NOT_APPROVABLE: readonly string[] = ['card_unreadable'];

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Lit = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x)));

export const ReviewView = Type.Object(
  {
    id: Type.String({ examples: ['rev_01m82bdkm43j64m14csvx1b6m1'] }),
    order_id: Type.String(),
    channel_id: Type.String(),
    reason: Type.String({
      description: "Why the order waits: the order's reason (docs/verification.md) or risk's.",
    }),
    stage: Lit(REVIEW_STAGES),
    status: Type.Union(
      REVIEW_STATUSES.map((x) => Type.Literal(x)),
      {
        description: 'A claim past its expiry shows as `open` (or `info_requested`): anyone may take it.',
      },
    ),
    claimed_by: Nullable(Type.String({ description: 'The admin user id holding the claim.' })),
    claim_expires_at: Nullable(Time),
    decision: Nullable(Lit(['approve', 'reject'] as const)),
    comment: Nullable(Type.String()),
    decided_by: Nullable(Type.String()),
    decided_at: Nullable(Time),
    amount: Type.Integer({ description: 'The declared face value, in minor units of `currency`.' }),
    currency: Type.String(),
    created_at: Time,
    updated_at: Time,
  },
  { title: 'Review' },
);
export type ReviewView = Static<typeof ReviewView>;

export const ReviewList = Type.Object({
  data: Type.Array(ReviewView),
  next_cursor: Nullable(Type.String({ description: 'Oldest first; null on the last page.' })),
});
export type ReviewList = Static<typeof ReviewList>;

/** Ten years: older than any case can be. */
const MAX_AGE_S = 10 * 365 * 86_400;

export const ReviewListQuery = Type.Object(
  {
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(
      Type.Union(
        [...REVIEW_STATUSES, 'waiting'].map((x) => Type.Literal(x)),
        { description: 'Default `waiting`: open, claimed and info_requested.' },
      ),
    ),
    // Bounded, so that a filter always fits the stores' 64-bit columns (a 1e30 was a 500 on PostgreSQL).
    min_age_s: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_AGE_S, description: 'Cases waiting at least this long.' }),
    ),
    max_age_s: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_AGE_S, description: 'Cases waiting at most this long.' }),
    ),
    min_amount: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Declared face value, minor units.',
      }),
    ),
    max_amount: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^rev_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type ReviewListQuery = Static<typeof ReviewListQuery>;

export const ReviewParams = Type.Object({ id: Type.String({ pattern: '^rev_[0-9a-z]{26}$' }) });

export const ReviewDecisionBody = Type.Object(
  {
    decision: Lit(REVIEW_DECISIONS),
    comment: Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'Why; kept on the case and in the audit log.',
    }),
  },
  { additionalProperties: false },
);
export type ReviewDecisionBody = Static<typeof ReviewDecisionBody>;

const SellerStatusCount = Type.Object({
  status: Type.String(),
  currency: Type.String(),
  count: Type.Integer(),
  declared_amount: Type.Integer({ description: 'Sum of declared face values, minor units.' }),
});

const SellerRecentOrder = Type.Object({
  id: Type.String(),
  status: Type.String(),
  reason: Nullable(Type.String()),
  declared_face_value: Type.Integer(),
  actual_face_value: Nullable(Type.Integer()),
  currency: Type.String(),
  created_at: Time,
});

const OrderHistoryEntry = Type.Object({
  event: Type.String(),
  from_status: Nullable(Type.String()),
  to_status: Type.String(),
  reason: Nullable(Type.String()),
  at: Time,
});

/** A case and everything a reviewer decides on. Never the card number or secret: the masked number only. */
export const ReviewEvidence = Type.Object(
  {
    review: ReviewView,
    order: OrderView,
    fired_rules: Type.Array(Type.Unknown(), { description: 'The risk rules that fired for this order.' }),
    seller: Type.Object({
      id: Type.String(),
      by_status: Type.Array(SellerStatusCount),
      recent_orders: Type.Array(SellerRecentOrder, {
        description: "The seller's latest orders on this channel.",
      }),
    }),
    issuer: Type.Object({
      issuer: Nullable(Type.String()),
      raw_code: Nullable(Type.String({ description: "The issuer's last raw code." })),
      history: Type.Array(OrderHistoryEntry, { description: "The order's steps, oldest first." }),
    }),
    face_value: Type.Object({
      declared: Type.Integer(),
      actual: Nullable(Type.Integer({ description: 'What the issuer reported; null until it said.' })),
      difference: Nullable(Type.Integer({ description: 'actual − declared, minor units.' })),
    }),
  },
  { title: 'ReviewEvidence' },
);
export type ReviewEvidence = Static<typeof ReviewEvidence>;

/** What waits, for the metrics: per reason, how many and since when. */
export interface WaitingReviews {
  reason: string;
  count: number;
  oldestCreatedAt: number;
}
