import type { TestServer } from './server.js';
import { waitFor } from './wait.js';

/**
 * Moves an order's credit `ms` into the past, as if it had been settled then (a test cannot wait for
 * a business day to close). Waits for the settlement subscriber to have taken the order first.
 */
export function backdateSettlement(t: TestServer, orderId: string, ms: number): Promise<true> {
  return waitFor(
    async () => {
      const r = await t.ctx.storage.db
        .updateTable('settlement_items')
        .set({ settled_at: Date.now() - ms })
        .where('order_id', '=', orderId)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1 ? true : undefined;
    },
    10_000,
    'the order taken into settlement',
  );
}

/** The first settlement batch of a channel, once the sweep has made it. */
export function firstBatch<B>(t: TestServer, channelId: string): Promise<B> {
  return waitFor(
    async () =>
      ((await t.admin('GET', `/admin/v1/settlement-batches?channel_id=${channelId}`)).body as { data: B[] })
        .data[0],
    10_000,
    'a batch',
  );
}
