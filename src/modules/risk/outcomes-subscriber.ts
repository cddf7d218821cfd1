import type { Static } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { Subscriber } from '../events/index.js';
import type { OrderEventData } from '../orders/index.js';

type OrderData = Static<typeof OrderEventData>;

/** The name of the subscriber: its deliveries are jobs of kind `events.risk_outcomes`. */
export const RISK_OUTCOMES = 'risk_outcomes';

/**
 * Counts each seller's rejected and frozen orders (`risk_seller_outcomes`), which the rings job
 * reads to tell a ring of bad sellers from a family sharing a router. Runs in the transaction that
 * completes the delivery, so each event counts exactly once.
 */
export function riskOutcomesSubscriber(): Subscriber {
  return {
    name: RISK_OUTCOMES,
    types: ['order.rejected', 'order.frozen'],
    concurrency: 4,
    async handle(event, trx) {
      const { order } = event.data as OrderData;
      if (event.channel_id === null) return;
      await countOutcome(
        trx,
        {
          channelId: event.channel_id,
          sellerId: order.seller.id,
          outcome: event.type === 'order.frozen' ? 'frozen' : 'rejected',
        },
        event.created_at,
      );
    },
  };
}

/** One more rejected or frozen order of the seller, in the caller's transaction. */
export async function countOutcome(
  trx: Transaction<Database>,
  o: { channelId: string; sellerId: string; outcome: 'rejected' | 'frozen' },
  nowMs: number,
): Promise<void> {
  const rejected = o.outcome === 'rejected' ? 1 : 0;
  const frozen = o.outcome === 'frozen' ? 1 : 0;
  await trx
    .insertInto('risk_seller_outcomes')
    .values({ channel_id: o.channelId, seller_id: o.sellerId, rejected, frozen, updated_at: nowMs })
    .onConflict((oc) =>
      oc.columns(['channel_id', 'seller_id']).doUpdateSet((eb) => ({
        rejected: eb('risk_seller_outcomes.rejected', '+', rejected),
        frozen: eb('risk_seller_outcomes.frozen', '+', frozen),
        updated_at: nowMs,
      })),
    )
    .execute();
}
