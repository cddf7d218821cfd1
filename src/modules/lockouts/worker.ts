import type { JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { PRUNE_LOCKOUTS } from './model.js';
import { prune } from './store.js';

export function pruneLockoutsHandler(db: Db, clock: Clock): JobHandler<{ keep_ms: number }> {
  return {
    spec: PRUNE_LOCKOUTS,
    async handle(payload, ctx) {
      const now = clock.now();
      const removed = await prune(db, now, now - payload.keep_ms);
      ctx.logger.debug({ removed }, 'ended lockout counters and lockouts removed');
    },
  };
}
