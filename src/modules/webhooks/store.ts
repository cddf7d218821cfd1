import type { Db } from '../../storage/database.js';
import type { CallbackTestsTable } from '../../storage/schema.js';
import type { CallbackTestStatus } from './model.js';

export type CallbackTestRow = CallbackTestsTable;

export function insertCallbackTest(db: Db, row: CallbackTestRow): Promise<unknown> {
  return db.insertInto('callback_tests').values(row).execute();
}

export function findCallbackTest(db: Db, id: string): Promise<CallbackTestRow | undefined> {
  return db.selectFrom('callback_tests').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface AttemptResult {
  status: CallbackTestStatus;
  statusCode: number | null;
  error: string | null;
  nowMs: number;
}

export async function recordAttempt(db: Db, id: string, r: AttemptResult): Promise<void> {
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

export async function markFailed(db: Db, id: string, nowMs: number): Promise<void> {
  await db
    .updateTable('callback_tests')
    .set({ status: 'failed', updated_at: nowMs })
    .where('id', '=', id)
    .execute();
}
