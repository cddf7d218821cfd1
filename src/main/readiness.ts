import { sql } from 'kysely';
import type { ReadinessCheck } from '../http/ops-routes.js';
import type { JobRuntime } from '../jobs/runtime.js';
import { schemaStatus } from '../storage/migrate.js';
import type { Context } from './context.js';

/** What /readyz checks in an API process and in a worker: the database, the schema, the job runtime. */
export function readinessChecks(ctx: Context, runtime: JobRuntime | null): ReadinessCheck[] {
  const db = ctx.storage.db;
  return [
    {
      name: 'database',
      check: async () => {
        await sql`select 1`.execute(db);
        return { ok: true, detail: ctx.storage.dialect };
      },
    },
    {
      name: 'migrations',
      check: async () => {
        const s = await schemaStatus(ctx.storage);
        const ok = s.pending.length === 0 && s.unknown.length === 0;
        return {
          ok,
          detail: ok
            ? `current (${s.applied.length} applied)`
            : `pending: ${s.pending.join(', ') || 'none'}; unknown: ${s.unknown.join(', ') || 'none'}`,
        };
      },
    },
    {
      name: 'worker',
      check: async () =>
        runtime
          ? {
              ok: runtime.isRunning,
              detail: runtime.isRunning ? `running as ${runtime.workerId}` : 'stopped',
            }
          : { ok: true, detail: 'not run in this process (--no-worker)' },
    },
  ];
}
