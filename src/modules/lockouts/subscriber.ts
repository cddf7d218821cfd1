import type { Static } from '@sinclair/typebox';
import type { Subscriber } from '../events/index.js';
import type { OrderEventData, OrderService } from '../orders/index.js';
import { WRONG_SECRET_REASONS } from './model.js';
import type { LockoutService } from './service.js';

export interface LockoutSubscriberDeps {
  lockouts: Pick<LockoutService, 'countWrongSecret'>;
  orders: Pick<OrderService, 'intakeSubjects'>;
}

type OrderData = Static<typeof OrderEventData>;

/**
 * Counts the issuer's "wrong secret" (and "no such card") answers against the card, the seller, the
 * device and the IP of the order, in the transaction that completes the delivery: each answer is
 * counted exactly once, whichever worker got it.
 */
export function lockoutSubscriber(deps: LockoutSubscriberDeps): Subscriber {
  return {
    name: 'lockouts',
    types: ['order.invalid'],
    concurrency: 8,
    async handle(event, trx) {
      const { order } = event.data as OrderData;
      if (order.reason === null || !WRONG_SECRET_REASONS.includes(order.reason)) return;
      const subjects = await deps.orders.intakeSubjects(trx, order.id);
      if (!subjects) throw new Error(`order ${order.id} of an order.invalid event is missing`);
      await deps.lockouts.countWrongSecret(trx, subjects, event.created_at);
    },
  };
}
