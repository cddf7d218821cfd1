import type { Static } from '@sinclair/typebox';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Subscriber } from '../events/index.js';
import type { OrderEventData } from '../orders/index.js';
import type { ReviewStage } from './model.js';
import { insertReview, latestCaseOf } from './store.js';

type OrderData = Static<typeof OrderEventData>;

/** Where the order stopped, from the step that brought it to a person. */
export function stageOf(data: OrderData): ReviewStage {
  if (data.order.reason === 'redemption_unknown') return 'redeem';
  return data.previous_status === 'submitted' ? 'intake' : 'issuer';
}

/**
 * Opens a review case for every order that waits for a person (`order.review`, `order.frozen`),
 * whoever sent it there: verification (ambiguous or unknown codes, another face value, a redeem of
 * unknown outcome, an unreadable card) or risk. One undecided case per order: an order that already
 * has one keeps it, and a frozen order released to review keeps the case it was frozen with.
 */
export function reviewSubscriber(deps: { clock: Clock }): Subscriber {
  return {
    name: 'reviews',
    types: ['order.review', 'order.frozen'],
    async handle(event, trx) {
      const data = event.data as OrderData;
      const { order } = data;
      const latest = await latestCaseOf(trx, order.id);
      if (latest && latest.status !== 'decided') return;
      // Released from a freeze (a reviewer's approval releases and resumes at once): that case covers it.
      if (latest && data.previous_status === 'frozen') return;
      const now = deps.clock.now();
      await insertReview(trx, {
        id: newId('rev', now),
        order_id: order.id,
        channel_id: event.channel_id ?? '',
        reason: order.reason ?? (event.type === 'order.frozen' ? 'risk_frozen' : 'risk_review'),
        stage: stageOf(data),
        status: 'open',
        claimed_by: null,
        claim_expires_at: null,
        decision: null,
        comment: null,
        decided_by: null,
        decided_at: null,
        amount: order.declared_face_value,
        currency: order.currency,
        created_at: now,
        updated_at: now,
      });
    },
  };
}
