/**
 * The order state machine of docs/architecture.md#the-order-lifecycle, pure. Every status change goes through `transition`;
 * a step not in the table is refused, never forced.
 */
export const ORDER_STATUSES = [
  'submitted',
  'verifying',
  'review',
  'frozen',
  'redeemed',
  'settled',
  'paid',
  'invalid',
  'failed',
  'rejected',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_EVENTS = [
  'start_verification',
  'redeem',
  'hold_for_review',
  'issuer_refused',
  'give_up',
  'approve',
  'resume',
  'reject',
  'freeze',
  'release',
  'settle',
  'pay',
] as const;
export type OrderEvent = (typeof ORDER_EVENTS)[number];

export const INITIAL_STATUS: OrderStatus = 'submitted';

const TRANSITIONS: { readonly [S in OrderStatus]: Readonly<Partial<Record<OrderEvent, OrderStatus>>> } = {
  // Risk decides at intake: on, to a person, frozen or refused.
  submitted: {
    start_verification: 'verifying',
    hold_for_review: 'review',
    reject: 'rejected',
    freeze: 'frozen',
  },
  // Risk decides again once the issuer has answered, before the card is redeemed.
  verifying: {
    redeem: 'redeemed',
    hold_for_review: 'review',
    issuer_refused: 'invalid',
    give_up: 'failed',
    freeze: 'frozen',
    reject: 'rejected',
  },
  // A reviewer's approval: `resume` continues verification where it stopped (the card is not
  // redeemed yet); `approve` confirms a redemption whose outcome was unknown.
  review: { approve: 'redeemed', resume: 'verifying', reject: 'rejected' },
  // A risk freeze ends in a person's decision, or in refusal.
  frozen: { release: 'review', reject: 'rejected' },
  redeemed: { settle: 'settled' },
  settled: { pay: 'paid' },
  paid: {},
  invalid: {},
  failed: {},
  rejected: {},
};

export type Transition =
  | { ok: true; from: OrderStatus; event: OrderEvent; to: OrderStatus }
  | { ok: false; from: OrderStatus; event: OrderEvent; reason: string };

export function transition(from: OrderStatus, event: OrderEvent): Transition {
  const to = TRANSITIONS[from][event];
  if (to === undefined) {
    const allowed = allowedEvents(from);
    const reason =
      allowed.length === 0
        ? `${from} is final`
        : `${event} is not allowed from ${from} (allowed: ${allowed.join(', ')})`;
    return { ok: false, from, event, reason };
  }
  return { ok: true, from, event, to };
}

export function allowedEvents(status: OrderStatus): OrderEvent[] {
  return Object.keys(TRANSITIONS[status]) as OrderEvent[];
}

export function isFinal(status: OrderStatus): boolean {
  return allowedEvents(status).length === 0;
}

/**
 * Whether the order still holds its card: a card with such an order anywhere cannot be submitted
 * again. Only a refusal or failure releases it.
 */
export function holdsCard(status: OrderStatus): boolean {
  return status !== 'invalid' && status !== 'failed' && status !== 'rejected';
}
