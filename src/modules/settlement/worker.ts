import type { JobHandler } from '../../jobs/model.js';
import { closeBatches, payDue, revivePayouts, type SweepDeps } from './batches.js';
import { SWEEP_SETTLEMENT } from './model.js';

/** Closes finished days into batches and makes the payouts that are due (also catches up after a failure). */
export function sweepSettlementHandler(
  deps: SweepDeps,
  onPayouts?: () => void,
): JobHandler<Record<string, never>> {
  return {
    spec: SWEEP_SETTLEMENT,
    async handle(_payload, ctx) {
      const batches = await closeBatches(deps);
      const payouts = await payDue(deps, (err, key) =>
        ctx.logger.warn({ seller: key, err: err.message }, 'no payout could be made for this seller'),
      );
      const revived = await revivePayouts(deps);
      if (payouts + revived > 0) onPayouts?.();
      if (batches + payouts + revived > 0) ctx.logger.info({ batches, payouts, revived }, 'settlement sweep');
    },
  };
}
