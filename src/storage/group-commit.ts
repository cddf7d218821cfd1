import { AsyncLocalStorage } from 'node:async_hooks';
import type { Transaction } from 'kysely';
import type { Db, Dialect } from './database.js';
import type { Database } from './schema.js';

/**
 * Writes that must commit together; it must use only `trx` (never the pool) while it runs, and do
 * nothing but database work: on SQLite a unit may be run twice (a batch is retried unit by unit when
 * another unit in it failed), and only the last run counts.
 */
export type UnitOfWork<T> = (trx: Transaction<Database>) => Promise<T>;

/**
 * Runs units of work each atomically and resolves each only after its commit is durable.
 * This is the one way request paths write: the SQLite implementation batches concurrent units
 * into one transaction (one fsync for many requests), which is what lifts SQLite with
 * `synchronous=FULL` from ~3,000 commits/s to tens of thousands of rows/s.
 */
export interface Committer {
  run<T>(work: UnitOfWork<T>): Promise<T>;
  /**
   * A large unit (a slice of a batch file): on SQLite it commits alone, and only when no other unit
   * waits, so that a request's few statements never queue behind a thousand of a file's. On
   * PostgreSQL it is `run`.
   */
  runBulk<T>(work: UnitOfWork<T>): Promise<T>;
  /** Units committed so far and transactions used for them (batching efficiency, for metrics). */
  stats(): { units: number; commits: number; retried: number };
}

/**
 * Set while a unit runs. A unit that called `run` again would, on SQLite, wait for the batch that is
 * waiting for it (every write of the process would hang), and on PostgreSQL commit apart from its
 * caller: both are refused at once. Checked under tests (NODE_ENV=test, as Vitest sets it, and the
 * processes tests start) or with RECARD_CHECK_UNITS=1: on Node 20 an AsyncLocalStorage slows every
 * promise of the process (intake lost ~20 % to it in the benchmark), so production leaves it off.
 */
const insideUnit =
  process.env.NODE_ENV === 'test' || process.env.RECARD_CHECK_UNITS === '1'
    ? new AsyncLocalStorage<true>()
    : undefined;

function refuseNested(): void {
  if (insideUnit?.getStore())
    throw new Error('committer.run was called inside a unit of work: use the transaction the unit was given');
}

function inUnit<T>(body: () => Promise<T>): Promise<T> {
  return insideUnit ? insideUnit.run(true, body) : body();
}

/** PostgreSQL commits concurrent transactions from many connections together on its own. */
class TransactionPerUnit implements Committer {
  private units = 0;
  constructor(private readonly db: Db) {}

  async run<T>(work: UnitOfWork<T>): Promise<T> {
    refuseNested();
    const result = await this.db.transaction().execute((trx) => inUnit(() => work(trx)));
    this.units++;
    return result;
  }

  runBulk<T>(work: UnitOfWork<T>): Promise<T> {
    return this.run(work);
  }

  stats() {
    return { units: this.units, commits: this.units, retried: 0 };
  }
}

type Outcome = { ok: boolean; value: unknown };
type ControlledTrx = Awaited<ReturnType<ReturnType<Db['startTransaction']>['execute']>>;

interface Pending {
  work: UnitOfWork<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * SQLite: units queued while a batch commits form the next batch, run in one transaction. If a unit
 * fails, the batch is rolled back and run again with a savepoint around each unit, so that the
 * failing one is rejected alone and the others still commit.
 */
class BatchingCommitter implements Committer {
  private queue: Pending[] = [];
  /** Bulk units, each committed alone when `queue` is empty. */
  private bulk: Pending[] = [];
  private bulkTurn = false;
  private scheduled = false;
  private units = 0;
  private commits = 0;
  /** Batches run again unit by unit because one of their units failed. */
  private retried = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBatch: number,
  ) {}

  run<T>(work: UnitOfWork<T>): Promise<T> {
    return this.enqueue(this.queue, work);
  }

  runBulk<T>(work: UnitOfWork<T>): Promise<T> {
    return this.enqueue(this.bulk, work);
  }

  private enqueue<T>(into: Pending[], work: UnitOfWork<T>): Promise<T> {
    refuseNested();
    return new Promise<T>((resolve, reject) => {
      into.push({
        work: work as UnitOfWork<unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.schedule();
    });
  }

  stats() {
    return { units: this.units, commits: this.commits, retried: this.retried };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O phase, so that every request that arrived meanwhile joins this batch.
    setImmediate(() => {
      this.flush().finally(() => {
        this.scheduled = false;
        if (this.queue.length > 0 || this.bulk.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    // A bulk unit runs alone, when nothing else waits or, under steady traffic, every other batch:
    // a request waits for one bulk unit at most, and a file still moves.
    const bulkNow = this.bulk.length > 0 && (this.queue.length === 0 || this.bulkTurn);
    this.bulkTurn = !bulkNow;
    const batch = bulkNow ? this.bulk.splice(0, 1) : this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    // Optimistic first: the units one after the other without savepoints (two statements fewer per
    // unit). Units rarely fail; when one does, the whole batch is rolled back and, if others were in
    // it, run again with a savepoint around each unit, so that only the failing one is rejected.
    const values: unknown[] = [];
    const first = await this.transact(async (trx) => {
      for (const unit of batch) values.push(await unit.work(trx));
    });
    if (first.ok)
      return this.settle(
        batch,
        values.map((value) => ({ ok: true, value })),
      );
    if (batch.length === 1) return batch[0]?.reject(first.error);
    this.retried++;
    const outcomes: Outcome[] = [];
    const second = await this.transact(async (trx) => {
      for (const unit of batch) {
        const sp = await trx.savepoint('unit').execute();
        try {
          const value = await unit.work(sp);
          await sp.releaseSavepoint('unit').execute();
          outcomes.push({ ok: true, value });
        } catch (error) {
          await sp.rollbackToSavepoint('unit').execute();
          await sp.releaseSavepoint('unit').execute();
          outcomes.push({ ok: false, value: error });
        }
      }
    });
    if (!second.ok) for (const unit of batch) unit.reject(second.error);
    else this.settle(batch, outcomes);
  }

  /** Runs `body` in one transaction and commits it; on any failure rolls back and returns the error. */
  private async transact(
    body: (trx: ControlledTrx) => Promise<void>,
  ): Promise<{ ok: true } | { ok: false; error: unknown }> {
    let trx: ControlledTrx | undefined;
    try {
      trx = await this.db.startTransaction().execute();
      const open = trx;
      await inUnit(() => body(open));
      await trx.commit().execute();
      return { ok: true };
    } catch (error) {
      if (trx && !trx.isCommitted && !trx.isRolledBack)
        await trx
          .rollback()
          .execute()
          .catch(() => undefined);
      return { ok: false, error };
    }
  }

  /** After a commit: counts it and answers every unit of the batch with its outcome. */
  private settle(batch: Pending[], outcomes: Outcome[]): void {
    this.commits++;
    this.units += batch.length;
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome?.value);
    });
  }
}

export function createCommitter(db: Db, dialect: Dialect, options: { maxBatch?: number } = {}): Committer {
  return dialect === 'sqlite'
    ? new BatchingCommitter(db, options.maxBatch ?? 1000)
    : new TransactionPerUnit(db);
}
