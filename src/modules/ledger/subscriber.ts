import type { Static } from '@sinclair/typebox';
import type { Db } from '../../storage/database.js';
import type { Subscriber } from '../events/index.js';
import type { OrderEventData, OrderService } from '../orders/index.js';
import { escrowHold, escrowRefund, orderMoneyOf, redemption } from './postings.js';
import type { Ledger } from './service.js';

export interface LedgerSubscriberDeps {
  ledger: Ledger;
  orders: Pick<OrderService, 'change'>;
  /** Whether the channel holds the seller's amount from intake (escrow). */
  escrowOf(channelId: string, from: Db): Promise<boolean>;
  now(): number;
}

type OrderData = Static<typeof OrderEventData>;

/**
 * Books orders as they move (docs/ledger.md#postings-of-the-flow): a redeemed card is posted and the
 * order moves to `settled` in the same transaction; an escrow channel's hold is made at intake (a
 * channel that is not escrow when the order is written gets no delivery of it) and released or
 * voided with the issuer's answer. Transfer ids come from the order id: a repeat books
 * nothing twice.
 */
export function ledgerSubscriber(deps: LedgerSubscriberDeps): Subscriber {
  return {
    name: 'ledger',
    types: ['order.submitted', 'order.redeemed', 'order.invalid', 'order.failed', 'order.rejected'],
    concurrency: 16,
    // A submitted order is only held on an escrow channel: elsewhere its delivery would do nothing
    // (one job less per order). Whether it is held is settled when the order is written.
    takes: async (event, trx) =>
      event.type !== 'order.submitted' ||
      (event.channel_id !== null && (await deps.escrowOf(event.channel_id, trx))),
    async handle(event, trx) {
      const { order } = event.data as OrderData;
      const channelId = event.channel_id;
      if (channelId === null) return;
      const hold = async () => {
        const [h] = await deps.ledger.transfersById(trx, [`${order.id}:hold`]);
        return h?.pending_state === 'pending' ? h : undefined;
      };
      if (event.type === 'order.submitted') {
        const money = orderMoneyOf(order, channelId);
        if (!money || !(await deps.escrowOf(channelId, trx))) return;
        const b = escrowHold(money);
        await deps.ledger.post(trx, b.transfers, b.open);
        return;
      }
      if (event.type === 'order.redeemed') {
        const money = orderMoneyOf(order, channelId);
        if (!money) throw new Error(`order ${order.id} was redeemed without a price`);
        const held = await hold();
        const b = redemption(money, held?.amount);
        await deps.ledger.post(trx, b.transfers, b.open);
        const moved = await deps.orders.change(trx, order.id, {
          event: 'settle',
          from: 'redeemed',
          nowMs: deps.now(),
        });
        if (!moved.ok && moved.why === 'refused')
          throw new Error(`order ${order.id} cannot settle: ${moved.detail}`);
        return;
      }
      // invalid, failed, rejected: nothing was bought; an escrow hold goes back.
      if (await hold()) await deps.ledger.post(trx, [escrowRefund(order.id)]);
    },
  };
}
