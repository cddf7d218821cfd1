import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';
import { OrderPrice } from '../pricing/index.js';
import { ORDER_STATUSES } from './lifecycle.js';

const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });
const Status = Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)));

export const SubmitOrder = Type.Object(
  {
    merchant_order_id: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        "The channel's own id for this submission; repeating it with the same body returns the first answer.",
    }),
    card_type: Text(40, 'A code from GET /v1/card-types.'),
    card_number: Text(80, 'As printed; spaces and dashes are ignored.'),
    card_secret: Text(80, 'As printed; spaces and dashes are ignored. Never shown again.'),
    declared_face_value: Type.Integer({
      minimum: 1,
      maximum: 100_000_000,
      description: 'Face value the seller declares, in minor units (fen).',
    }),
    seller: Type.Object(
      {
        id: Text(64),
        name: Type.Optional(Text(100)),
        phone: Type.Optional(
          Type.String({
            pattern: '^\\+?[0-9]{6,20}$',
            description:
              "The seller's mobile number, for a step-up SMS code when risk asks for one (docs/risk.md#step-up). Used for that only, never stored in the clear, never shown.",
          }),
        ),
      },
      { additionalProperties: false },
    ),
    callback_url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
    attach: Type.Optional(Type.String({ maxLength: 256, description: 'Echoed back unchanged.' })),
    client_ip: Type.Optional(Type.Union([Type.String({ format: 'ipv4' }), Type.String({ format: 'ipv6' })])),
    device_id: Type.Optional(Text(128)),
    user_id: Type.Optional(Text(64)),
    user_registered_at: Type.Optional(Type.String({ format: 'date-time' })),
    // Fields a channel's kind may require (docs/limits.md#required-fields); stored and shown as given.
    platform_order_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[\\x21-\\x7e]+$',
        description:
          "The e-commerce platform's own order number. Required on `ecommerce` channels by default.",
      }),
    ),
    store_terminal_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[\\x21-\\x7e]+$',
        description: 'The store or POS terminal the card was taken at (offline merchants).',
      }),
    ),
    blockchain_address: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'USDT address of the seller, TRC20 (`T…`, 34 characters) or ERC20 (`0x` + 40 hex digits). Required on `crypto` channels by default.',
      }),
    ),
    quote_id: Type.Optional(
      Type.String({
        pattern: '^quo_[0-9a-z]{26}$',
        description:
          'From GET /v1/quotes: settle at that price while it is valid. Without it, the price in force at intake.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SubmitOrder = Static<typeof SubmitOrder>;

export const OrderView = Type.Object(
  {
    id: Type.String({ examples: ['ord_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    merchant_order_id: Type.String(),
    status: Status,
    card_type: Type.String(),
    card_number_masked: Type.String({ description: 'Last four characters only.' }),
    declared_face_value: Type.Integer(),
    currency: Type.String(),
    seller: Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]) }),
    callback_url: Type.Union([Type.String(), Type.Null()]),
    attach: Type.Union([Type.String(), Type.Null()]),
    platform_order_id: Type.Union([Type.String(), Type.Null()]),
    store_terminal_id: Type.Union([Type.String(), Type.Null()]),
    blockchain_address: Type.Union([Type.String(), Type.Null()]),
    issuer: Type.Union([Type.String(), Type.Null()], { description: 'Who verifies and redeems the card.' }),
    actual_face_value: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Face value the issuer reported or redeemed, in minor units; null until it said.',
    }),
    reason: Type.Union([Type.String(), Type.Null()], {
      description:
        'Normalised reason for invalid, failed or review orders (docs/verification.md); null otherwise.',
    }),
    raw_code: Type.Union([Type.String(), Type.Null()], { description: "The issuer's own last result code." }),
    waiting_for: Type.Union([Type.Literal('issuer_confirmation'), Type.Null()], {
      description: 'Set while a redemption waits for the issuer to confirm it (daily batch files).',
    }),
    verified_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    price: Type.Union([OrderPrice, Type.Null()], {
      description: 'What the card is bought for and the seller is paid (docs/pricing.md).',
    }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'Order' },
);
export type OrderView = Static<typeof OrderView>;

export const OrderParams = Type.Object({ id: Type.String({ pattern: '^ord_[0-9a-z]{26}$' }) });

export const OrderListQuery = Type.Object(
  {
    merchant_order_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(Status),
    card_type: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    created_from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive.' })),
    created_to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive.' })),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^ord_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type OrderListQuery = Static<typeof OrderListQuery>;

export const OrderList = Type.Object({
  data: Type.Array(OrderView),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Newest first; null on the last page.',
  }),
});
export type OrderList = Static<typeof OrderList>;

/** Verify (inquire) and redeem a submitted card; handled by the issuer gateway's worker. */
export const VERIFY_ORDER = defineJobKind<{ order_id: string }>({
  kind: 'orders.verify',
  maxAttempts: 8,
  timeoutMs: 60_000,
  backoff: { baseMs: 1_000, capMs: 60_000 },
});

/**
 * The same work for an order that came in a batch file, in slots of its own (decision 0018): a
 * 100,000-card file waits behind itself, never in front of single orders (docs/batches.md).
 */
export const VERIFY_BATCH_ORDER = defineJobKind<{ order_id: string }>({
  kind: 'orders.verify_batch',
  maxAttempts: VERIFY_ORDER.maxAttempts,
  timeoutMs: VERIFY_ORDER.timeoutMs,
  backoff: VERIFY_ORDER.backoff,
});

/** Deletes the data keys of cards paid longer ago than the retention window (crypto-shredding). */
export const SHRED_CARDS = defineJobKind<{ retention_days: number }>({
  kind: 'orders.shred_cards',
  maxAttempts: 3,
  timeoutMs: 300_000,
  backoff: { baseMs: 10_000, capMs: 60_000 },
  concurrency: 1,
});
