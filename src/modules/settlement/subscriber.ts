import type { Static } from '@sinclair/typebox';
import type { Db } from '../../storage/database.js';
import type { SettlementSettings } from '../channels/index.js';
import type { Subscriber } from '../events/index.js';
import type { OrderEventData } from '../orders/index.js';
import { makePayout, type PayoutDeps } from './payouts.js';

export interface SettlementSubscriberDeps extends PayoutDeps {
  policyOf(channelId: string, from: Db): Promise<SettlementSettings | undefined>;
  onPayoutMade?(): void;
}

/**
 * Takes each settled order into settlement (docs/settlement.md): records the seller and the order as
 * owed, and on a T+0 channel makes the payout at once, in the same transaction.
 */
export function settlementSubscriber(deps: SettlementSubscriberDeps): Subscriber {
  return {
    name: 'settlement',
    types: ['order.settled'],
    concurrency: 16,
    async handle(event, trx) {
      const { order } = event.data as Static<typeof OrderEventData>;
      if (event.channel_id === null || !order.price) return;
      const channelId = event.channel_id;
      await deps.sellers.ensure(trx, channelId, order.seller.id, order.seller.name);
      await trx
        .insertInto('settlement_items')
        .values({
          order_id: order.id,
          channel_id: channelId,
          seller_id: order.seller.id,
          amount: order.price.payout_amount,
          currency: order.price.payout_currency,
          settled_at: event.created_at,
          batch_id: null,
          payout_id: null,
          paid_at: null,
        })
        .onConflict((oc) => oc.column('order_id').doNothing())
        .execute();
      const policy = await deps.policyOf(channelId, trx);
      if (policy?.cycle !== 'T0') return;
      const made = await makePayout(trx, deps, policy, {
        channelId,
        sellerId: order.seller.id,
        currency: order.price.payout_currency,
      });
      if (made.made) deps.onPayoutMade?.();
    },
  };
}
