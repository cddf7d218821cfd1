import { type ExpressionBuilder, type Insertable, sql } from 'kysely';
import { newId } from '../shared/ids.js';
import { insertRows } from '../storage/bulk.js';
import type { Db, Dialect } from '../storage/database.js';
import { prepared } from '../storage/prepared.js';
import type { Database, JobsTable } from '../storage/schema.js';
import type { JobFailureInfo, JobKind, JobRow, JobState } from './model.js';

export interface EnqueueOptions {
  runAt?: number;
  /** At most one job per key ever exists; a second enqueue with the key is a no-op. */
  uniqueKey?: string;
  /**
   * Jobs sharing an ordering key run one at a time, lowest `orderingSeq` first: a later one is not
   * claimed while an earlier one waits, runs or is being retried (a dead one no longer holds it up).
   */
  ordering?: { key: string; seq: number };
}

/**
 * Writes a job. Call it with the transaction that writes the state the job belongs to (the
 * transactional outbox): the job exists if and only if that state was committed.
 * Returns the new id, or null when `uniqueKey` was taken.
 */
export async function enqueueJob<P>(
  db: Db,
  spec: JobKind<P>,
  payload: P,
  nowMs: number,
  options: EnqueueOptions = {},
): Promise<string | null> {
  const id = newId('job', nowMs);
  const { changed } = await newJob.run(db, {
    id,
    kind: spec.kind,
    payload: JSON.stringify(payload),
    max_attempts: spec.maxAttempts,
    run_at: options.runAt ?? nowMs,
    unique_key: options.uniqueKey ?? null,
    created_at: nowMs,
    ordering_key: options.ordering?.key ?? null,
    ordering_seq: options.ordering?.seq ?? null,
  });
  return changed === 1 ? id : null;
}

/** One job of `enqueueJobs`: what `enqueueJob` takes, without a unique key (every one is written). */
export interface NewJob<P> {
  spec: JobKind<P>;
  payload: P;
  nowMs: number;
  runAt?: number;
  ordering?: { key: string; seq: number };
}

/** Writes many jobs in few statements (a batch file's chunk); returns their ids in order. */
export async function enqueueJobs(db: Db, jobs: readonly NewJob<unknown>[]): Promise<string[]> {
  const rows = jobs.map(
    (j): Insertable<JobsTable> => ({
      id: newId('job', j.nowMs),
      kind: j.spec.kind,
      payload: JSON.stringify(j.payload),
      max_attempts: j.spec.maxAttempts,
      run_at: j.runAt ?? j.nowMs,
      unique_key: null,
      created_at: j.nowMs,
      state: 'available',
      locked_by: null,
      lease_until: null,
      last_error: null,
      updated_at: j.nowMs,
      finished_at: null,
      ordering_key: j.ordering?.key ?? null,
      ordering_seq: j.ordering?.seq ?? null,
      last_error_code: null,
    }),
  );
  await insertRows(db, 'jobs', rows);
  return rows.map((r) => r.id);
}

const newJob = prepared<{
  id: string;
  kind: string;
  payload: string;
  max_attempts: number;
  run_at: number;
  unique_key: string | null;
  created_at: number;
  ordering_key: string | null;
  ordering_seq: number | null;
}>((db, p) =>
  db
    .insertInto('jobs')
    .values({
      id: p.id,
      kind: p.kind,
      payload: p.payload,
      max_attempts: p.max_attempts,
      run_at: p.run_at,
      unique_key: p.unique_key,
      created_at: p.created_at,
      state: 'available' satisfies JobState,
      locked_by: null,
      lease_until: null,
      last_error: null,
      updated_at: p.created_at,
      finished_at: null,
      ordering_key: p.ordering_key,
      ordering_seq: p.ordering_seq,
      last_error_code: null,
    })
    .onConflict((oc) => oc.column('unique_key').doNothing()),
);

export interface Claim {
  workerId: string;
  kinds: string[];
  limit: number;
  nowMs: number;
  leaseMs: number;
}

/**
 * Claims up to `limit` jobs that are due, or whose previous worker's lease ran out, and counts the
 * attempt. PostgreSQL skips rows other workers hold (`FOR UPDATE SKIP LOCKED`); SQLite has one
 * writer at a time, so the single statement is already exclusive.
 */
export async function claimJobs(db: Db, dialect: Dialect, claim: Claim): Promise<JobRow[]> {
  if (claim.limit <= 0 || claim.kinds.length === 0) return [];
  // Two index searches (kind, state, time), not one walk over every running job of the kind to
  // find an expired lease: with hundreds of callbacks in flight, that walk was most of a claim.
  const openOrderingKey = (eb: ExpressionBuilder<Database, 'jobs'>) =>
    eb.or([
      eb('jobs.ordering_key', 'is', null),
      eb.not(
        eb.exists(
          eb
            .selectFrom('jobs as prior')
            .select('prior.id')
            .whereRef('prior.ordering_key', '=', 'jobs.ordering_key')
            .whereRef('prior.ordering_seq', '<', 'jobs.ordering_seq')
            .where('prior.state', 'in', ['available', 'running']),
        ),
      ),
    ]);
  const available = db
    .selectFrom('jobs')
    .select(['id', 'run_at as due_at'])
    .where('kind', 'in', claim.kinds)
    .where('state', '=', 'available')
    .where('run_at', '<=', claim.nowMs)
    // One at a time per ordering key: an earlier job of the key that is still open holds this one.
    .where(openOrderingKey);
  const expired = db
    .selectFrom('jobs')
    .select(['id', sql<number>`lease_until`.as('due_at')])
    .where('kind', 'in', claim.kinds)
    .where('state', '=', 'running')
    .where('lease_until', '<', claim.nowMs);
  const set = {
    state: 'running' as JobState,
    locked_by: claim.workerId,
    lease_until: claim.nowMs + claim.leaseMs,
    attempt: sql<number>`attempt + 1`,
    updated_at: claim.nowMs,
  };
  if (dialect === 'postgres') {
    // Each side walks its index in claim order and stops at the limit, locking what it takes
    // (PostgreSQL cannot lock the rows of a UNION). One select with both states under an OR was
    // sorted whole: with 100,000 jobs due, 400 ms per claim. A row one side locked but the final
    // limit left out stays locked only until this statement's transaction ends.
    const byDue = <Q extends typeof available>(q: Q, column: 'run_at' | 'lease_until') =>
      q.orderBy(column).orderBy('id').limit(claim.limit).forUpdate().skipLocked();
    const update = db
      .with('due_available', () => byDue(available, 'run_at'))
      .with('due_expired', () => byDue(expired, 'lease_until'))
      .with('due', (w) =>
        w
          .selectFrom('due_available')
          .selectAll()
          .unionAll(w.selectFrom('due_expired').selectAll())
          .orderBy('due_at')
          .orderBy('id')
          .limit(claim.limit),
      )
      .updateTable('jobs')
      .from('due')
      .set(set)
      .whereRef('jobs.id', '=', 'due.id');
    // PostgreSQL's `*` would add due.id.
    return update.returningAll('jobs').execute();
  }
  // SQLite: one writer at a time; the union is merged in index order (jobs_kind_due_order).
  const update = db
    .with('due', () => available.unionAll(expired).orderBy('due_at').orderBy('id').limit(claim.limit))
    .updateTable('jobs')
    .from('due')
    .set(set)
    .whereRef('jobs.id', '=', 'due.id');
  // SQLite's RETURNING takes no `table.*`.
  return update.returningAll().execute();
}

/** The fence every update of a claimed job goes through: only its current holder may move it. */
interface Held {
  id: string;
  workerId: string;
  attempt: number;
}

function held(db: Db, job: Held) {
  return db
    .updateTable('jobs')
    .where('id', '=', job.id)
    .where('locked_by', '=', job.workerId)
    .where('attempt', '=', job.attempt)
    .where('state', '=', 'running');
}

const changed = (r: { numUpdatedRows: bigint }) => r.numUpdatedRows === 1n;

export async function extendLease(db: Db, job: Held, nowMs: number, leaseMs: number): Promise<boolean> {
  return changed(
    await held(db, job)
      .set({ lease_until: nowMs + leaseMs, updated_at: nowMs })
      .executeTakeFirst(),
  );
}

const succeeded = prepared<{ id: string; workerId: string; attempt: number; nowMs: number }>((db, p) =>
  db
    .updateTable('jobs')
    .set({
      state: 'succeeded',
      locked_by: null,
      lease_until: null,
      finished_at: p.nowMs,
      updated_at: p.nowMs,
    })
    .where('id', '=', p.id)
    .where('locked_by', '=', p.workerId)
    .where('attempt', '=', p.attempt)
    .where('state', '=', 'running'),
);

/** Every job ends here once: prepared, as it runs for each of them. */
export async function markSucceeded(db: Db, job: Held, nowMs: number): Promise<boolean> {
  const r = await succeeded.run(db, { id: job.id, workerId: job.workerId, attempt: job.attempt, nowMs });
  return r.changed === 1;
}

/**
 * Hands a held job back as `available` at `runAt`: after a failed attempt (`countAttempt`), or
 * without counting it (a deferral, a release at shutdown).
 */
async function handBack(
  db: Db,
  job: Held,
  o: { runAt: number; nowMs: number; lastError?: JobFailureInfo; countAttempt: boolean },
): Promise<boolean> {
  const r = await held(db, job)
    .set({
      state: 'available',
      locked_by: null,
      lease_until: null,
      run_at: o.runAt,
      updated_at: o.nowMs,
      ...(o.lastError === undefined
        ? {}
        : { last_error: o.lastError.message, last_error_code: o.lastError.code }),
      ...(o.countAttempt ? {} : { attempt: sql<number>`attempt - 1` }),
    })
    .executeTakeFirst();
  return changed(r);
}

export function scheduleRetry(
  db: Db,
  job: Held,
  error: JobFailureInfo,
  runAt: number,
  nowMs: number,
): Promise<boolean> {
  return handBack(db, job, { runAt, nowMs, lastError: error, countAttempt: true });
}

export async function markDead(db: Db, job: Held, error: JobFailureInfo, nowMs: number): Promise<boolean> {
  const r = await held(db, job)
    .set({
      state: 'dead',
      locked_by: null,
      lease_until: null,
      last_error: error.message,
      last_error_code: error.code,
      finished_at: nowMs,
      updated_at: nowMs,
    })
    .executeTakeFirst();
  return changed(r);
}

/** Puts a job back to run at `runAt` without counting the attempt (the handler is waiting, not failing). */
export function deferJob(db: Db, job: Held, why: string, runAt: number, nowMs: number): Promise<boolean> {
  return handBack(db, job, { runAt, nowMs, lastError: { message: why, code: null }, countAttempt: false });
}

/** Hands a job back untouched (shutdown): the attempt it was claimed with does not count. */
export function releaseJob(db: Db, job: Held, nowMs: number): Promise<boolean> {
  return handBack(db, job, { runAt: nowMs, nowMs, countAttempt: false });
}

export async function countJobsByState(db: Db): Promise<Record<JobState, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['state', db.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  const counts: Record<JobState, number> = { available: 0, running: 0, succeeded: 0, dead: 0 };
  for (const r of rows) counts[r.state] = Number(r.n);
  return counts;
}

export async function getJob(db: Db, id: string): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Deletes finished jobs older than `beforeMs` (dead ones are kept for people to look at). */
export async function pruneSucceededJobs(db: Db, beforeMs: number): Promise<number> {
  const r = await db
    .deleteFrom('jobs')
    .where('state', '=', 'succeeded')
    .where('finished_at', '<', beforeMs)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Whether a job of this kind with exactly this payload is waiting or running. */
export async function hasLiveJob<P>(db: Db, spec: JobKind<P>, payload: P): Promise<boolean> {
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('kind', '=', spec.kind)
    .where('state', 'in', ['available', 'running'])
    .where('payload', '=', JSON.stringify(payload))
    .executeTakeFirst();
  return row !== undefined;
}
