import { Type } from '@sinclair/typebox';
import { defineEventType, type EventTypeSpec } from '../events/index.js';
import type { OrderStatus } from './lifecycle.js';
import { ORDER_STATUSES } from './lifecycle.js';
import { OrderView } from './model.js';

/** Every order event carries the order as GET /v1/orders/{id} shows it, and where it came from. */
export const OrderEventData = Type.Object(
  {
    order: OrderView,
    previous_status: Type.Union([Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s))), Type.Null()], {
      description: 'The status before this change; null for order.submitted.',
    }),
  },
  { title: 'OrderEventData' },
);

const exampleOrder = {
  id: 'ord_01jq3v6y0k8w5m2d9c4f7h1r3t',
  merchant_order_id: 'm-10001',
  status: 'redeemed' as const,
  card_type: 'cmcc_national',
  card_number_masked: '*************2650',
  declared_face_value: 10000,
  currency: 'CNY',
  seller: { id: 's1', name: null },
  callback_url: null,
  attach: 'basket-7',
  platform_order_id: null,
  store_terminal_id: 'pos-0042',
  blockchain_address: null,
  issuer: 'china_mobile',
  actual_face_value: 10000,
  reason: null,
  raw_code: '0000',
  waiting_for: null,
  verified_at: '2026-12-01T08:00:01.250Z',
  price: {
    price_id: 'prc_01jq3v6y0k8w5m2d9c4f7h1r3t',
    quote_id: null,
    face_value: 10000,
    currency: 'CNY',
    rate_bps: 9600,
    seller_amount: 9600,
    commission_amount: 0,
    payout_amount: 9600,
    payout_currency: 'CNY',
    fx: null,
    priced_at: '2026-12-01T08:00:00.900Z',
  },
  created_at: '2026-12-01T08:00:00.900Z',
  updated_at: '2026-12-01T08:00:01.250Z',
};

function orderEvent(
  type: string,
  status: OrderStatus,
  previous: OrderStatus | null,
  description: string,
  visibility: 'channel' | 'internal' = 'channel',
) {
  return defineEventType({
    type,
    version: 1,
    description,
    visibility,
    data: OrderEventData,
    example: { order: { ...exampleOrder, status }, previous_status: previous },
  });
}

export const ORDER_SUBMITTED = orderEvent(
  'order.submitted',
  'submitted',
  null,
  'A card was taken in (internal subscribers only).',
  'internal',
);
export const ORDER_REDEEMED = orderEvent(
  'order.redeemed',
  'redeemed',
  'verifying',
  'The issuer redeemed the card (or a reviewer approved it): it is bought at `order.price`.',
);
export const ORDER_INVALID = orderEvent(
  'order.invalid',
  'invalid',
  'verifying',
  'The issuer refused the card; `order.reason` says why.',
);
export const ORDER_FAILED = orderEvent(
  'order.failed',
  'failed',
  'verifying',
  'Verification gave up after its retries (the issuer stayed unreachable); the card was not consumed.',
);
export const ORDER_REVIEW = orderEvent(
  'order.review',
  'review',
  'verifying',
  'The order waits for a person; `order.reason` says why.',
);
export const ORDER_REJECTED = orderEvent(
  'order.rejected',
  'rejected',
  'review',
  'The order was refused (policy, risk or a reviewer).',
);
export const ORDER_FROZEN = orderEvent(
  'order.frozen',
  'frozen',
  'submitted',
  'Risk froze the order until a person looks at it.',
);

export const ORDER_SETTLED = orderEvent(
  'order.settled',
  'settled',
  'redeemed',
  "The card is booked: the seller is owed `order.price.payout_amount` (docs/ledger.md). Paid on the channel's settlement cycle.",
);
export const ORDER_PAID = orderEvent(
  'order.paid',
  'paid',
  'settled',
  'The payout that carried this order reached the seller (`payout.paid` has the payout).',
);

export const ORDER_EVENT_TYPES: readonly EventTypeSpec[] = [
  ORDER_SUBMITTED,
  ORDER_REDEEMED,
  ORDER_INVALID,
  ORDER_FAILED,
  ORDER_REVIEW,
  ORDER_REJECTED,
  ORDER_FROZEN,
  ORDER_SETTLED,
  ORDER_PAID,
];

/** The event a step into `to` announces; none for steps within verification (`verifying`). */
export function eventTypeFor(to: OrderStatus): EventTypeSpec<typeof OrderEventData> | undefined {
  switch (to) {
    case 'submitted':
      return ORDER_SUBMITTED;
    case 'redeemed':
      return ORDER_REDEEMED;
    case 'invalid':
      return ORDER_INVALID;
    case 'failed':
      return ORDER_FAILED;
    case 'review':
      return ORDER_REVIEW;
    case 'rejected':
      return ORDER_REJECTED;
    case 'frozen':
      return ORDER_FROZEN;
    case 'settled':
      return ORDER_SETTLED;
    case 'paid':
      return ORDER_PAID;
    case 'verifying':
      return undefined;
  }
}
