import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/**
 * A payout's states (docs/settlement.md#payouts): `created` → `sending` (committed before the call)
 * → `accepted` | `unknown` → `paid` | `failed`. `unknown` is settled by a lookup under the same id.
 */
export const PAYOUT_STATUSES = ['created', 'sending', 'accepted', 'unknown', 'paid', 'failed'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];
export const FINAL_PAYOUT: readonly PayoutStatus[] = ['paid', 'failed'];

export const PayoutView = Type.Object(
  {
    id: Type.String({ examples: ['po_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    channel_id: Type.String(),
    seller_id: Type.String(),
    destination_id: Type.String(),
    provider: Type.String(),
    status: Type.Union(PAYOUT_STATUSES.map((s) => Type.Literal(s))),
    amount: Type.Integer({ description: 'Sent to the destination, minor units.' }),
    fee: Type.Integer({ description: "The channel's payout fee, kept from the seller's balance." }),
    currency: Type.String(),
    order_count: Type.Integer(),
    order_ids: Type.Optional(Type.Array(Type.String())),
    batch_id: Nullable(Type.String()),
    provider_ref: Nullable(Type.String({ description: "The provider's own reference (trade no, tx hash)." })),
    reason: Nullable(Type.String()),
    attempts: Type.Integer({
      description: 'Calls made to the provider (sends and lookups), all under this id.',
    }),
    created_at: Time,
    finished_at: Nullable(Time),
  },
  { title: 'Payout' },
);
export type PayoutView = Static<typeof PayoutView>;

export const PayoutParams = Type.Object({ id: Type.String({ pattern: '^po_[0-9a-z]{26}$' }) });
export const PayoutListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(PAYOUT_STATUSES.map((s) => Type.Literal(s)))),
    seller_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^po_[0-9a-z]{26}$' })),
  },
  { additionalProperties: false },
);
export type PayoutListQuery = Static<typeof PayoutListQuery>;
export const AdminPayoutListQuery = Type.Composite(
  [PayoutListQuery, Type.Object({ channel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) })],
  { additionalProperties: false },
);
export type AdminPayoutListQuery = Static<typeof AdminPayoutListQuery>;
export const PayoutList = Type.Object({ data: Type.Array(PayoutView), next_cursor: Nullable(Type.String()) });

export const ResolvePayout = Type.Object(
  {
    outcome: Type.Union([Type.Literal('paid'), Type.Literal('failed')], {
      description: 'What the provider’s own records say, checked by a person.',
    }),
    provider_ref: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    note: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type ResolvePayout = Static<typeof ResolvePayout>;

export const BATCH_STATUSES = ['awaiting_approval', 'approved'] as const;
export const BatchView = Type.Object(
  {
    id: Type.String({ examples: ['stb_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    channel_id: Type.String(),
    cycle: Type.String(),
    business_date: Type.String({
      description: 'The business day (channel time zone) whose credited orders it holds.',
    }),
    status: Type.Union(BATCH_STATUSES.map((s) => Type.Literal(s))),
    due_at: Type.String({ format: 'date-time', description: 'Paid from then on, once approved.' }),
    order_count: Type.Integer(),
    amount: Type.Integer(),
    currency: Type.String(),
    approved_by: Nullable(Type.String()),
    approved_at: Nullable(Time),
    created_at: Time,
  },
  { title: 'SettlementBatch' },
);
export type BatchView = Static<typeof BatchView>;
export const BatchParams = Type.Object({ id: Type.String({ pattern: '^stb_[0-9a-z]{26}$' }) });
export const BatchListQuery = Type.Object(
  {
    channel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(Type.Union(BATCH_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ pattern: '^stb_[0-9a-z]{26}$' })),
  },
  { additionalProperties: false },
);
export type BatchListQuery = Static<typeof BatchListQuery>;
export const BatchList = Type.Object({ data: Type.Array(BatchView), next_cursor: Nullable(Type.String()) });

export const BalanceQuery = Type.Object(
  { seller_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
const Amounts = Type.Object({
  currency: Type.String(),
  owed: Type.Integer({ description: 'Credited to sellers and not paid yet (posted).' }),
  in_payment: Type.Integer({ description: 'Held by payouts on their way.' }),
  available: Type.Integer({ description: 'Owed less what payouts hold.' }),
});
export const BalanceView = Type.Object(
  {
    seller_id: Nullable(Type.String()),
    sellers: Type.Array(Amounts, { description: "Sellers' balances (one seller's with seller_id)." }),
    commission: Type.Array(Type.Object({ currency: Type.String(), balance: Type.Integer() }), {
      description: "The channel's earned commission.",
    }),
  },
  { title: 'Balance' },
);
export type BalanceView = Static<typeof BalanceView>;

/** Sends a payout and follows it to its end; waits (deferred) while the provider has not decided. */
export const SEND_PAYOUT = defineJobKind<{ payout_id: string }>({
  kind: 'settlement.payout',
  maxAttempts: 50,
  timeoutMs: 60_000,
  backoff: { baseMs: 1_000, capMs: 60_000 },
  concurrency: 32,
});

/** Closes business days into batches and pays what is due. */
export const SWEEP_SETTLEMENT = defineJobKind<Record<string, never>>({
  kind: 'settlement.sweep',
  maxAttempts: 3,
  timeoutMs: 120_000,
  backoff: { baseMs: 1_000, capMs: 10_000 },
  concurrency: 1,
});
