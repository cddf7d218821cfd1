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
}

/** What a kind of job is: its name, its payload type and its retry rules. Shared by enqueuer and worker. */
export interface JobKind<P> {
  kind: string;
  maxAttempts: number;
  /** A run taking longer is aborted and counts as a failed attempt. */
  timeoutMs: number;
  backoff: BackoffPolicy;
  /** Phantom field carrying the payload type; never set. */
  readonly _payload?: P;
}

export function defineJobKind<P>(spec: Omit<JobKind<P>, '_payload'>): JobKind<P> {
  if (spec.maxAttempts < 1) throw new Error(`job kind ${spec.kind}: maxAttempts must be ≥ 1`);
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

export interface JobHandler<P> {
  spec: JobKind<P>;
  handle(payload: P, ctx: JobContext): Promise<void>;
  /**
   * Runs in the transaction that marks the job dead (attempts exhausted or a permanent error), so
   * the state the job was about (an order, a delivery) can be moved to its failed state with it.
   */
  onDead?(payload: P, lastError: string, trx: Transaction<Database>): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of handlers holds many payload types
export type AnyJobHandler = JobHandler<any>;

/** Thrown by a handler when retrying cannot help (bad payload, a refusal that is final). */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
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
