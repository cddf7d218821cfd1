import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { defineJobKind, type JobHandler } from './model.js';
import { pruneSucceededJobs } from './store.js';

export const PRUNE_JOBS = defineJobKind<{ keep_ms: number }>({
  kind: 'jobs.prune_succeeded',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

/** Succeeded jobs are history nobody reads; dead ones stay until a person has looked at them. */
export function pruneJobsHandler(db: Db, clock: Clock): JobHandler<{ keep_ms: number }> {
  return {
    spec: PRUNE_JOBS,
    async handle({ keep_ms }, ctx) {
      const removed = await pruneSucceededJobs(db, clock.now() - keep_ms);
      ctx.logger.debug({ removed }, 'old succeeded jobs removed');
    },
  };
}
