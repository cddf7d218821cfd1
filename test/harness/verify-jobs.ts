import { VERIFY_ORDER } from '../../src/modules/orders/index.js';
import type { Db } from '../../src/storage/database.js';
import { waitFor } from './wait.js';

/**
 * Brings an order's verify job to its last attempt, due now (its backoff is seconds to minutes):
 * caught while it waits `available` between attempts, retrying if a worker takes it first. Returns
 * the job as it was caught; wake the worker afterwards.
 */
export function exhaustVerifyAttempts(db: Db, orderId: string) {
  return waitFor(
    async () => {
      const waiting = await db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', VERIFY_ORDER.kind)
        .where('payload', '=', JSON.stringify({ order_id: orderId }))
        .where('state', '=', 'available')
        .where('attempt', '>=', 1)
        .executeTakeFirst();
      if (!waiting) return undefined;
      const r = await db
        .updateTable('jobs')
        .set({ attempt: waiting.max_attempts - 1, run_at: 0 })
        .where('id', '=', waiting.id)
        .where('state', '=', 'available')
        .where('attempt', '=', waiting.attempt)
        .executeTakeFirst();
      return r.numUpdatedRows === 1n ? waiting : undefined;
    },
    15_000,
    'a failed attempt waiting for its retry',
  );
}
