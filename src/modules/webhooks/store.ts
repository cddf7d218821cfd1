import type { Transaction } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { CallbackTestsTable, Database } from '../../storage/schema.js';
import type { CallbackTestStatus } from './model.js';

export type CallbackTestRow = CallbackTestsTable;
type Executor = Db | Transaction<Database>;

export function insertCallbackTest(db: Executor, row: CallbackTestRow): Promise<unknown> {
  return db.insertInto('callback_tests').values(row).execute();
}

export function findCallbackTest(db: Executor, id: string): Promise<CallbackTestRow | undefined> {
  return db.selectFrom('callback_tests').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface AttemptResult {
  status: CallbackTestStatus;
  statusCode: number | null;
  error: string | null;
  nowMs: number;
}

export async function recordAttempt(db: Executor, id: string, r: AttemptResult): Promise<void> {
  await db
    .updateTable('callback_tests')
    .set((eb) => ({
      status: r.status,
      attempts: eb('attempts', '+', 1),
      last_status_code: r.statusCode,
      last_error: r.error,
      updated_at: r.nowMs,
      delivered_at: r.status === 'delivered' ? r.nowMs : null,
    }))
    .where('id', '=', id)
    .execute();
}

export async function markFailed(db: Executor, id: string, nowMs: number): Promise<void> {
  await db
    .updateTable('callback_tests')
    .set({ status: 'failed', updated_at: nowMs })
    .where('id', '=', id)
    .execute();
}
