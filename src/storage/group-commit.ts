import type { Transaction } from 'kysely';
import type { Db, Dialect } from './database.js';
import type { Database } from './schema.js';

/** Writes that must commit together; it must use only `trx` (never the pool) while it runs. */
export type UnitOfWork<T> = (trx: Transaction<Database>) => Promise<T>;

/**
 * Runs units of work each atomically and resolves each only after its commit is durable.
 * This is the one way request paths write: the SQLite implementation batches concurrent units
 * into one transaction (one fsync for many requests), which is what lifts SQLite with
 * `synchronous=FULL` from ~3,000 commits/s to tens of thousands of rows/s.
 */
export interface Committer {
  run<T>(work: UnitOfWork<T>): Promise<T>;
  /** Units committed so far and transactions used for them (batching efficiency, for metrics). */
  stats(): { units: number; commits: number };
}

/** PostgreSQL commits concurrent transactions from many connections together on its own. */
class TransactionPerUnit implements Committer {
  private units = 0;
  constructor(private readonly db: Db) {}

  async run<T>(work: UnitOfWork<T>): Promise<T> {
    const result = await this.db.transaction().execute(work);
    this.units++;
    return result;
  }

  stats() {
    return { units: this.units, commits: this.units };
  }
}

interface Pending {
  work: UnitOfWork<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * SQLite: units queued while a batch commits form the next batch. Each unit runs inside a savepoint,
 * so a unit that fails is rolled back alone and rejected, and the others still commit.
 */
class BatchingCommitter implements Committer {
  private queue: Pending[] = [];
  private scheduled = false;
  private units = 0;
  private commits = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBatch: number,
  ) {}

  run<T>(work: UnitOfWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        work: work as UnitOfWork<unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.schedule();
    });
  }

  stats() {
    return { units: this.units, commits: this.commits };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After the I/O phase, so that every request that arrived meanwhile joins this batch.
    setImmediate(() => {
      this.flush().finally(() => {
        this.scheduled = false;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    let trx: Awaited<ReturnType<ReturnType<Db['startTransaction']>['execute']>> | undefined;
    try {
      trx = await this.db.startTransaction().execute();
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
      await trx.commit().execute();
    } catch (error) {
      if (trx && !trx.isCommitted && !trx.isRolledBack)
        await trx
          .rollback()
          .execute()
          .catch(() => undefined);
      for (const unit of batch) unit.reject(error);
      return;
    }
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
