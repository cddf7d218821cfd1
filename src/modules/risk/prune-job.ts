import { defineJobKind, type JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { pruneRiskCounters } from './counters-db.js';
import { pruneLinks } from './links.js';

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

/** Forgets sellers' links not seen for `retain_days` (rings are made of what sellers share now). */
export const PRUNE_RISK_LINKS = defineJobKind<{ retain_days: number }>({
  kind: 'risk.prune_links',
  maxAttempts: 3,
  timeoutMs: 10 * 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

export function pruneRiskLinksHandler(db: Db, clock: Clock): JobHandler<{ retain_days: number }> {
  return {
    spec: PRUNE_RISK_LINKS,
    async handle(payload, ctx) {
      const before = clock.now() - payload.retain_days * 86_400_000;
      let removed = 0;
      for (let n = await pruneLinks(db, before); n > 0; n = await pruneLinks(db, before)) removed += n;
      ctx.logger.debug({ removed }, 'links not seen within the retention removed');
    },
  };
}
