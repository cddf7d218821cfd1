import type { JobHandler } from '../../jobs/model.js';
import { PRUNE_IDEMPOTENCY } from './model.js';
import type { Idempotency } from './service.js';

/** Answers older than 24 h are not replayed (an expired key is taken over anyway): this is housekeeping. */
export function pruneIdempotencyHandler(idempotency: Idempotency): JobHandler<Record<string, never>> {
  return {
    spec: PRUNE_IDEMPOTENCY,
    async handle(_payload, ctx) {
      const removed = await idempotency.prune();
      ctx.logger.debug({ removed }, 'expired idempotency keys removed');
    },
  };
}
