import { defineJobKind, type JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { pruneNonces } from './nonces.js';

export const PRUNE_NONCES = defineJobKind<Record<string, never>>({
  kind: 'channels.prune_nonces',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

export function pruneNoncesHandler(db: Db, clock: Clock): JobHandler<Record<string, never>> {
  return {
    spec: PRUNE_NONCES,
    async handle(_payload, ctx) {
      const removed = await pruneNonces(db, clock.now());
      ctx.logger.debug({ removed }, 'expired request nonces removed');
    },
  };
}
