import { defineJobKind, type JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { pruneRiskCounters } from './counters-db.js';

/** Removes risk counter windows past their use (on Redis they expire by themselves). */
export const PRUNE_RISK_COUNTERS = defineJobKind<Record<string, never>>({
  kind: 'risk.prune_counters',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

export function pruneRiskCountersHandler(db: Db, clock: Clock): JobHandler<Record<string, never>> {
  return {
    spec: PRUNE_RISK_COUNTERS,
    async handle(_payload, ctx) {
      const removed = await pruneRiskCounters(db, clock.now());
      ctx.logger.debug({ removed }, 'expired risk counter windows removed');
    },
  };
}
