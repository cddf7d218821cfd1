import { JobRuntime } from '../jobs/runtime.js';
import type { Context } from './context.js';

/** Starts the job runtime over every handler of this build; new work in this process wakes it. */
export function startWorker(ctx: Context): JobRuntime {
  const runtime = new JobRuntime({
    db: ctx.storage.db,
    dialect: ctx.storage.dialect,
    handlers: ctx.jobHandlers,
    schedules: ctx.schedules,
    clock: ctx.clock,
    logger: ctx.logger,
    concurrency: ctx.config.workerConcurrency,
    pollMs: ctx.config.workerPollMs,
    leaseMs: ctx.config.jobLeaseMs,
    observer: ctx.metrics.jobObserver,
    committer: ctx.committer,
  });
  runtime.start();
  ctx.sequencer.start();
  ctx.wakeWorker = (kinds) => runtime.nudge(kinds);
  return runtime;
}
