import { defineJobKind, type JobHandler } from '../../jobs/model.js';
import type { AdminService } from './service.js';

export const PRUNE_SESSIONS = defineJobKind<Record<string, never>>({
  kind: 'admins.prune_sessions',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

/** Ended sessions are refused anyway; this only keeps the table small. */
export function pruneSessionsHandler(admins: AdminService): JobHandler<Record<string, never>> {
  return {
    spec: PRUNE_SESSIONS,
    async handle(_payload, ctx) {
      const removed = await admins.pruneSessions();
      ctx.logger.debug({ removed }, 'ended admin sessions removed');
    },
  };
}
