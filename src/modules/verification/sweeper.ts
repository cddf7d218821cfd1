import type { JobHandler } from '../../jobs/model.js';
import { enqueueJob, hasLiveJob } from '../../jobs/store.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { type OrderService, VERIFY_BATCH_ORDER, VERIFY_ORDER } from '../orders/index.js';
import { SWEEP_VERIFYING } from './model.js';

const BATCH = 200;

/**
 * Nothing stays in submitted/verifying forever: an order untouched for `stuck_after_ms` with no
 * verify job waiting or running (its job died with the process that held it, or was deleted) gets a
 * new one. The verify job resolves it: a redeem that may have happened is settled by lookup.
 */
export function sweepVerifyingHandler(
  db: Db,
  orders: Pick<OrderService, 'staleVerifications'>,
  clock: Clock,
  onRequeued?: (n: number) => void,
): JobHandler<{ stuck_after_ms: number }> {
  return {
    spec: SWEEP_VERIFYING,
    async handle(payload, ctx) {
      const now = clock.now();
      const stale = await orders.staleVerifications(now - payload.stuck_after_ms, BATCH);
      let requeued = 0;
      for (const order of stale) {
        const job = { order_id: order.id };
        if ((await hasLiveJob(db, VERIFY_ORDER, job)) || (await hasLiveJob(db, VERIFY_BATCH_ORDER, job)))
          continue;
        await enqueueJob(db, VERIFY_ORDER, { order_id: order.id }, now);
        requeued++;
      }
      if (requeued > 0) {
        ctx.logger.warn({ requeued }, 'stuck orders handed back to the verify worker');
        onRequeued?.(requeued);
      }
    },
  };
}
