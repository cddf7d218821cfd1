import type { Selectable, Transaction } from 'kysely';
import type { Logger } from '../shared/logger.js';
import type { Database, JobsTable } from '../storage/schema.js';

export const JOB_STATES = ['available', 'running', 'succeeded', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles each attempt after. */
  baseMs: number;
  /** No delay is longer than this. */
  capMs: number;
  /**
   * A fixed timetable instead: the wait after failed attempt n is `scheduleMs[n-1]` (the last entry
   * repeats), with no jitter, so the next try can be shown to the people waiting for it.
   */
  scheduleMs?: readonly number[];
}

/** What a kind of job is: its name, its payload type and its retry rules. Shared by enqueuer and worker. */
export interface JobKind<P> {
  kind: string;
  maxAttempts: number;
  /** A run taking longer is aborted and counts as a failed attempt. */
  timeoutMs: number;
  backoff: BackoffPolicy;
  /**
   * Jobs of this kind one worker runs at once (default: the worker's own setting). Each kind has its
   * own slots, so a slow kind (callbacks to a slow endpoint) never takes verification's.
   */
  concurrency?: number;
  /** Phantom field carrying the payload type; never set. */
  readonly _payload?: P;
}

export function defineJobKind<P>(spec: Omit<JobKind<P>, '_payload'>): JobKind<P> {
  if (spec.maxAttempts < 1) throw new Error(`job kind ${spec.kind}: maxAttempts must be ≥ 1`);
  if (spec.concurrency !== undefined && !(Number.isInteger(spec.concurrency) && spec.concurrency >= 1))
    throw new Error(`job kind ${spec.kind}: concurrency must be a whole number ≥ 1`);
  return spec;
}

export interface JobContext {
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  /** Aborted on timeout, on lost lease and on shutdown; long handlers must honour it. */
  signal: AbortSignal;
  logger: Logger;
}

/** Why the last attempt failed: the text for people, and the handler's typed cause if it gave one. */
export interface JobFailureInfo {
  message: string;
  code: string | null;
}

interface HandlerBase<P> {
  spec: JobKind<P>;
  /**
   * Runs in the transaction that marks the job dead (attempts exhausted or a permanent error), so
   * the state the job was about (an order, a delivery) can be moved to its failed state with it.
   */
  onDead?(payload: P, failure: JobFailureInfo, trx: Transaction<Database>): Promise<void>;
}

/**
 * Database work a plain handler hands back to be done in the transaction that marks its job
 * succeeded (a callback's "delivered"): recorded exactly when the job is, never twice.
 */
export type Completion = (trx: Transaction<Database>) => Promise<void>;

/** Does its work, then the runtime records the outcome (at least once: a crash between the two repeats it). */
export interface PlainJobHandler<P> extends HandlerBase<P> {
  // biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing; some hand back a Completion
  handle(payload: P, ctx: JobContext): Promise<void | Completion>;
  handleInTransaction?: undefined;
}

/**
 * Does database work only, in the transaction that marks the job succeeded: its writes commit
 * exactly once, together with the job's completion, or not at all. It must be quick and touch
 * nothing outside the database (on SQLite the transaction holds the write lock, and a batch may
 * run it twice, the last run counting).
 */
export interface TransactionalJobHandler<P> extends HandlerBase<P> {
  handleInTransaction(payload: P, trx: Transaction<Database>, ctx: JobContext): Promise<void>;
  handle?: undefined;
}

export type JobHandler<P> = PlainJobHandler<P> | TransactionalJobHandler<P>;

// biome-ignore lint/suspicious/noExplicitAny: a list of handlers holds many payload types
export type AnyJobHandler = JobHandler<any>;

/** Thrown by a handler when retrying cannot help (bad payload, a refusal that is final). */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * A failure with a typed cause the handler wants back in `onDead` (a verify job's last reason):
 * the code is stored beside the message, never parsed out of it.
 */
export class JobFailure<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}

/** A job as read from the database. */
export type JobRow = Selectable<JobsTable>;

/**
 * Thrown by a handler whose work is waiting on someone else (an issuer's next batch file): run the
 * job again after `delayMs`. Not a failure: the attempt is given back and nothing is logged as error.
 */
export class DeferJob extends Error {
  constructor(
    readonly delayMs: number,
    readonly why: string,
  ) {
    super(why);
    this.name = 'DeferJob';
  }
}
