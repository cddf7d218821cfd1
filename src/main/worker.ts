import type { FastifyInstance } from 'fastify';
import { buildApp } from '../http/app.js';
import { JobRuntime } from '../jobs/runtime.js';
import { type Context, VERSION } from './context.js';
import { readinessChecks } from './readiness.js';

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

/**
 * A worker's operations port (RECARD_WORKER_PORT): /healthz, /readyz and /metrics, as an API
 * process serves them, so that a worker is probed and scraped like one. No API route, no reference.
 */
export async function startWorkerOps(
  ctx: Context,
  runtime: JobRuntime,
  port: number,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({
    logger: ctx.logger,
    bodyLimitBytes: 1024,
    metrics: ctx.metrics,
    readiness: readinessChecks(ctx, runtime),
    version: VERSION,
    apis: [],
    docs: false,
  });
  const url = await app.listen({ host: ctx.config.host, port });
  return { app, url };
}
