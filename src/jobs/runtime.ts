import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Db, Dialect } from '../storage/database.js';
import type { Committer } from '../storage/group-commit.js';
import { backoffDelayMs } from './backoff.js';
import {
  type AnyJobHandler,
  DeferJob,
  type JobContext,
  JobFailure,
  type JobFailureInfo,
  type JobHandler,
  type JobKind,
  type JobRow,
  PermanentJobError,
} from './model.js';
import {
  claimJobs,
  deferJob,
  enqueueJob,
  extendLease,
  markDead,
  markSucceeded,
  releaseJob,
  scheduleRetry,
} from './store.js';

export type RunOutcome = 'succeeded' | 'retried' | 'deferred' | 'dead' | 'released' | 'lost';

export interface JobObserver {
  jobFinished(kind: string, outcome: RunOutcome, durationMs: number): void;
}

/** A job enqueued once per period by whichever worker sees the period first. */
export interface Schedule<P = unknown> {
  spec: JobKind<P>;
  everyMs: number;
  payload: P;
}

export interface RuntimeOptions {
  db: Db;
  dialect: Dialect;
  handlers: AnyJobHandler[];
  clock: Clock;
  logger: Logger;
  /** Jobs of one kind run at once, for kinds whose spec sets no concurrency of its own. */
  concurrency: number;
  pollMs: number;
  leaseMs: number;
  schedules?: Schedule[];
  observer?: JobObserver;
  /** Claims and completions go through it when given (group commit on SQLite: many of them, one fsync). */
  committer?: Committer;
  workerId?: string;
  random?: () => number;
}

class JobTimeout extends Error {
  override name = 'JobTimeout';
}
class LeaseLost extends Error {
  override name = 'LeaseLost';
}
class ShuttingDown extends Error {
  override name = 'ShuttingDown';
}

const MAX_ERROR_CHARS = 2000;

function describeError(err: unknown): JobFailureInfo {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { message: text.slice(0, MAX_ERROR_CHARS), code: err instanceof JobFailure ? err.code : null };
}

/** Payloads are written by enqueueJob as JSON; one that is not cannot be retried into shape. */
function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new PermanentJobError('job payload is not valid JSON');
  }
}

interface Running {
  job: JobRow;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Claims due jobs and runs their handlers, at most `concurrency` at a time. A claimed job holds a
 * lease that a heartbeat renews; if the worker dies, the lease runs out and another worker takes
 * the job (its attempt counted). Every state change of a claimed job is fenced by (worker, attempt),
 * so a worker that lost its lease can never overwrite the new holder's result.
 */
export class JobRuntime {
  readonly workerId: string;
  private readonly handlers: Map<string, JobHandler<unknown>>;
  private readonly inFlight = new Map<string, Running>();
  /** Running jobs per kind: each kind has its own slots. */
  private readonly runningByKind = new Map<string, number>();
  /** Kinds whose last claim took as many jobs as it could: more may be waiting. */
  private readonly backlog = new Set<string>();
  private readonly lastSlot = new Map<string, number>();
  private readonly random: () => number;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** Kinds to look at in the next round although no poll is due (nudged, or a slot freed). */
  private readonly nudged = new Set<string>();
  private nudgedAll = true;
  private nextPollAt = 0;

  constructor(private readonly o: RuntimeOptions) {
    this.workerId = o.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.handlers = new Map(o.handlers.map((h) => [h.spec.kind, h as JobHandler<unknown>]));
    this.random = o.random ?? Math.random;
  }

  get isRunning(): boolean {
    return this.loopDone !== null && !this.stopping;
  }

  get activeJobs(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.loopDone) throw new Error('job runtime already started');
    this.o.logger.info({ worker_id: this.workerId, kinds: [...this.handlers.keys()] }, 'job worker started');
    this.loopDone = this.loop();
  }

  /**
   * Look for work now instead of at the next poll (after an enqueue in this process): for these
   * kinds, or for every kind when none are named.
   */
  nudge(kinds?: readonly string[]): void {
    if (kinds) for (const k of kinds) this.nudged.add(k);
    else this.nudgedAll = true;
    this.wake?.();
  }

  /**
   * Stops claiming, lets running jobs finish for `graceMs`, then aborts the rest and hands them back
   * (state available, attempt not counted) so another worker picks them up at once.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.loopDone || this.stopping) return;
    this.stopping = true;
    this.nudge();
    await this.loopDone;
    const all = () => Promise.all([...this.inFlight.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const finished = await Promise.race([all().then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (finished === 'timeout') {
      for (const r of this.inFlight.values()) r.controller.abort(new ShuttingDown('worker is shutting down'));
      await all();
    }
    this.o.logger.info({ worker_id: this.workerId }, 'job worker stopped');
  }

  private limitOf(handler: JobHandler<unknown>): number {
    return handler.spec.concurrency ?? this.o.concurrency;
  }

  /**
   * Each round claims, per kind, up to its free slots: every kind when a poll is due (work enqueued
   * by other processes, retries coming due), otherwise only the kinds nudged since the last round.
   * All claims of a round are one unit (one transaction; on SQLite one fsync with other writes).
   */
  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.runSchedules();
        const nowMs = this.o.clock.now();
        // Poll timing is real time, not the job clock (tests move that one by hand).
        const tick = performance.now();
        const all = this.nudgedAll || tick >= this.nextPollAt;
        if (all) this.nextPollAt = tick + this.o.pollMs;
        const look = all ? [...this.handlers.keys()] : [...this.nudged];
        this.nudged.clear();
        this.nudgedAll = false;
        const wanted = look.flatMap((kind) => {
          const handler = this.handlers.get(kind);
          const free = handler ? this.limitOf(handler) - (this.runningByKind.get(kind) ?? 0) : 0;
          return free > 0 ? [{ kind, free }] : [];
        });
        if (wanted.length > 0) {
          const claimAll = async (db: Db) => {
            const out: JobRow[][] = [];
            for (const { kind, free } of wanted)
              out.push(
                await claimJobs(db, this.o.dialect, {
                  workerId: this.workerId,
                  kinds: [kind],
                  limit: free,
                  nowMs,
                  leaseMs: this.o.leaseMs,
                }),
              );
            return out;
          };
          const claimed = await this.unit(claimAll);
          claimed.forEach((jobs, i) => {
            const w = wanted[i];
            if (!w) return;
            // All its free slots taken: more may wait; a freed slot of this kind looks again.
            if (jobs.length === w.free) this.backlog.add(w.kind);
            else this.backlog.delete(w.kind);
            for (const job of jobs) this.launch(job);
          });
        }
      } catch (err) {
        this.o.logger.error({ err, worker_id: this.workerId }, 'claiming jobs failed; retrying at next poll');
      }
      const busy = this.nudgedAll || this.nudged.size > 0;
      if (!busy && !this.stopping) await this.sleep(Math.max(1, this.nextPollAt - performance.now()));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async runSchedules(): Promise<void> {
    for (const s of this.o.schedules ?? []) {
      const now = this.o.clock.now();
      const slot = Math.floor(now / s.everyMs);
      if (this.lastSlot.get(s.spec.kind) === slot) continue;
      await enqueueJob(this.o.db, s.spec, s.payload, now, { uniqueKey: `${s.spec.kind}@${slot}` });
      this.lastSlot.set(s.spec.kind, slot);
    }
  }

  private launch(job: JobRow): void {
    const controller = new AbortController();
    const running: Running = { job, controller, done: Promise.resolve() };
    this.inFlight.set(job.id, running);
    this.runningByKind.set(job.kind, (this.runningByKind.get(job.kind) ?? 0) + 1);
    running.done = this.execute(job, controller)
      .catch((err) =>
        this.o.logger.error({ err, job_id: job.id }, 'recording a job result failed; its lease will expire'),
      )
      .finally(() => {
        this.inFlight.delete(job.id);
        this.runningByKind.set(job.kind, (this.runningByKind.get(job.kind) ?? 1) - 1);
        // A freed slot is worth a look only if the last claim of its kind left work behind, or if
        // the job held the next one of its ordering key (a batch file's chunks, one after another,
        // each waited for the next poll: 100 chunks idled up to 25 s). Other work arrives with its
        // own nudge (enqueued here) or at the next poll (enqueued elsewhere).
        if (this.backlog.has(job.kind) || job.ordering_key !== null) this.nudge([job.kind]);
      });
  }

  private async execute(job: JobRow, controller: AbortController): Promise<void> {
    const handler = this.handlers.get(job.kind);
    const held = { id: job.id, workerId: this.workerId, attempt: job.attempt };
    const log = this.o.logger.child({ job_id: job.id, job_kind: job.kind, attempt: job.attempt });
    const started = this.o.clock.now();
    const finish = (outcome: RunOutcome) =>
      this.o.observer?.jobFinished(job.kind, outcome, this.o.clock.now() - started);
    if (!handler) throw new Error(`no handler for claimed job kind ${job.kind}`);

    if (job.attempt > job.max_attempts) {
      // Claimed back after its worker died on the last allowed attempt.
      await this.kill(
        handler,
        job,
        held,
        { message: 'the worker running the last attempt was lost (lease expired)', code: null },
        log,
      );
      return finish('dead');
    }

    const heartbeat = setInterval(
      () => {
        extendLease(this.o.db, held, this.o.clock.now(), this.o.leaseMs)
          .then((ok) => {
            if (!ok) controller.abort(new LeaseLost('lease was lost to another worker'));
          })
          .catch((err) => log.warn({ err }, 'lease heartbeat failed'));
      },
      Math.max(50, Math.floor(this.o.leaseMs / 3)),
    );
    const timeout = setTimeout(
      () => controller.abort(new JobTimeout(`job timed out after ${handler.spec.timeoutMs} ms`)),
      handler.spec.timeoutMs,
    );

    let failure: unknown = null;
    /** A transactional handler's completion is committed with its work; nothing is left to mark. */
    let completed = false;
    try {
      const payload = parsePayload(job.payload);
      const ctx: JobContext = {
        jobId: job.id,
        attempt: job.attempt,
        maxAttempts: job.max_attempts,
        signal: controller.signal,
        logger: log,
      };
      if (handler.handleInTransaction) {
        // Database work only, and fenced: it is waited for, never abandoned, so that a late
        // rollback cannot take a whole SQLite batch with it and the kind keeps to its slots.
        await this.inCompletion(held, (trx) => handler.handleInTransaction(payload, trx, ctx));
        completed = true;
      } else {
        const completion = await this.untilSettledOrAbandoned(
          handler.handle(payload, ctx),
          controller.signal,
        );
        if (completion) {
          await this.inCompletion(held, completion);
          completed = true;
        }
      }
    } catch (err) {
      failure = controller.signal.aborted && !handler.handleInTransaction ? controller.signal.reason : err;
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timeout);
    }

    const now = this.o.clock.now();
    if (failure === null && completed) return finish('succeeded');
    if (failure === null) {
      const marked = await this.unit((trx) => markSucceeded(trx, held, now));
      if (!marked) return finish('lost');
      return finish('succeeded');
    }
    if (failure instanceof LeaseLost) {
      log.warn('job lease was lost; another worker owns it now');
      return finish('lost');
    }
    if (failure instanceof ShuttingDown) {
      await releaseJob(this.o.db, held, now);
      return finish('released');
    }
    if (failure instanceof DeferJob) {
      await deferJob(this.o.db, held, failure.why, now + failure.delayMs, now);
      return finish('deferred');
    }
    const error = describeError(failure);
    if (failure instanceof PermanentJobError || job.attempt >= job.max_attempts) {
      await this.kill(handler, job, held, error, log);
      return finish('dead');
    }
    const delay = backoffDelayMs(handler.spec.backoff, job.attempt, this.random());
    // A typed failure is an outcome the handler expected and recorded itself (a callback endpoint
    // that did not answer): info, not a warning per attempt. Anything else is worth a look.
    if (failure instanceof JobFailure)
      log.info({ err: error.message, code: error.code, retry_in_ms: delay }, 'job failed; will retry');
    else log.warn({ err: error.message, retry_in_ms: delay }, 'job failed; will retry');
    await scheduleRetry(this.o.db, held, error, now + delay, now);
    return finish('retried');
  }

  /**
   * One unit of writes: through the committer when there is one (on SQLite many claims, completions
   * and request writes share a commit and its fsync), else a transaction of its own.
   */
  private unit<T>(work: (trx: Parameters<Parameters<Committer['run']>[0]>[0]) => Promise<T>): Promise<T> {
    return this.o.committer ? this.o.committer.run(work) : this.o.db.transaction().execute(work);
  }

  /**
   * Runs `work` in the transaction that marks the job succeeded, fenced like every other update: a
   * worker that lost the job meanwhile rolls its work back with the failed mark.
   */
  private async inCompletion(
    held: { id: string; workerId: string; attempt: number },
    work: (trx: Parameters<Parameters<Committer['run']>[0]>[0]) => Promise<void>,
  ): Promise<void> {
    const unit = async (trx: Parameters<Parameters<Committer['run']>[0]>[0]) => {
      await work(trx);
      if (!(await markSucceeded(trx, held, this.o.clock.now())))
        throw new LeaseLost('lease was lost to another worker');
    };
    await this.unit(unit);
  }

  /** Waits for the handler; once aborted, gives it a bounded time to notice before moving on. */
  private untilSettledOrAbandoned<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    const graceMs = Math.min(this.o.leaseMs, 5000);
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        timer = setTimeout(() => reject(signal.reason), graceMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      });
    });
  }

  private async kill(
    handler: JobHandler<unknown>,
    job: JobRow,
    held: { id: string; workerId: string; attempt: number },
    failure: JobFailureInfo,
    log: Logger,
  ): Promise<void> {
    log.error(
      { err: failure.message, code: failure.code },
      'job is dead: attempts exhausted or permanent failure',
    );
    let payload: unknown;
    try {
      payload = parsePayload(job.payload);
    } catch {
      payload = undefined; // an unreadable payload still dies, without its onDead
    }
    await this.o.db.transaction().execute(async (trx) => {
      const marked = await markDead(trx, held, failure, this.o.clock.now());
      if (marked && handler.onDead && payload !== undefined) await handler.onDead(payload, failure, trx);
    });
  }
}
