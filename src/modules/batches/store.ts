import { type Insertable, type Selectable, sql } from 'kysely';
import type { Db, Dialect } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { BatchesTable, BatchLinesTable } from '../../storage/schema.js';

export type BatchRow = Selectable<BatchesTable>;
export type LineRow = Selectable<BatchLinesTable>;
export type NewLine = Insertable<BatchLinesTable>;

/** Rows per INSERT: 14 columns × 500 stays far below both databases' limit on bound values. */
const INSERT_ROWS = 500;

export async function insertBatch(db: Db, row: BatchRow): Promise<void> {
  await db.insertInto('batches').values(row).execute();
}

export const batchById = (db: Db, id: string): Promise<BatchRow | undefined> =>
  db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();

/** A channel sees only its own batches. */
export const channelBatch = (db: Db, channelId: string, id: string): Promise<BatchRow | undefined> =>
  db
    .selectFrom('batches')
    .selectAll()
    .where('id', '=', id)
    .where('channel_id', '=', channelId)
    .executeTakeFirst();

export const byMerchantBatchId = (db: Db, channelId: string, merchantBatchId: string) =>
  db
    .selectFrom('batches')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('merchant_batch_id', '=', merchantBatchId)
    .executeTakeFirst();

/** A channel's batches, newest first. */
export const channelBatches = (db: Db, channelId: string, limit: number): Promise<BatchRow[]> =>
  db
    .selectFrom('batches')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('status', '<>', 'receiving')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();

export async function insertLines(db: Db, rows: readonly NewLine[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS)
    await db
      .insertInto('batch_lines')
      .values(rows.slice(i, i + INSERT_ROWS))
      .execute();
}

/** An upload that failed or never finished: its lines and itself. */
export async function deleteBatch(db: Db, id: string): Promise<void> {
  await db.deleteFrom('batch_lines').where('batch_id', '=', id).execute();
  await db.deleteFrom('batches').where('id', '=', id).where('status', '=', 'receiving').execute();
}

/** The upload is whole: the batch starts processing (only from `receiving`, once). */
export async function startProcessing(
  db: Db,
  id: string,
  lineCount: number,
  nowMs: number,
): Promise<boolean> {
  const r = await db
    .updateTable('batches')
    .set({ status: 'processing', line_count: lineCount, updated_at: nowMs })
    .where('id', '=', id)
    .where('status', '=', 'receiving')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export const pendingLines = (db: Db, batchId: string, fromLine: number, toLine: number): Promise<LineRow[]> =>
  db
    .selectFrom('batch_lines')
    .selectAll()
    .where('batch_id', '=', batchId)
    .where('line', '>=', fromLine)
    .where('line', '<', toLine)
    .where('status', '=', 'pending')
    .orderBy('line')
    .execute();

/** What became of a line; its sealed card is wiped with it. Only a pending line moves (see below). */
export interface LineOutcomeUpdate {
  line: number;
  status: 'ordered' | 'refused' | 'cancelled';
  orderId?: string;
  code?: string;
  message?: string;
  field?: string | null;
}

/** A line that became an order points at it even if a cancel came meanwhile (see below). */
const lineOrdered = prepared<{ batchId: string; line: number; orderId: string }>((db, p) =>
  db
    .updateTable('batch_lines')
    .set({
      status: 'ordered',
      order_id: p.orderId,
      code: null,
      message: null,
      field: null,
      sealed_card: null,
      sealed_key_id: null,
    })
    .where('batch_id', '=', p.batchId)
    .where('line', '=', p.line)
    .where('status', 'in', ['pending', 'cancelled']),
);

export async function settleLines(
  db: Db,
  dialect: Dialect,
  batchId: string,
  updates: readonly LineOutcomeUpdate[],
): Promise<void> {
  const ordered = updates.filter((u) => u.status === 'ordered' && u.orderId);
  // The common outcome, an order. On SQLite a statement per line, compiled once, costs no round
  // trip, and a CASE of 500 lines is evaluated branch by branch for each row (6× slower, measured).
  if (dialect === 'sqlite')
    for (const u of ordered)
      await lineOrdered.run(db, { batchId, line: u.line, orderId: u.orderId as string });
  // On PostgreSQL one statement per 500 lines: each line its order's id.
  else
    for (let i = 0; i < ordered.length; i += 500) {
      const slice = ordered.slice(i, i + 500);
      await db
        .updateTable('batch_lines')
        .set({
          status: 'ordered',
          order_id: sql<string>`case ${sql.ref('line')} ${sql.join(
            slice.map((u) => sql`when ${u.line} then ${u.orderId}`),
            sql` `,
          )} end`,
          code: null,
          message: null,
          field: null,
          sealed_card: null,
          sealed_key_id: null,
        })
        .where('batch_id', '=', batchId)
        .where(
          'line',
          'in',
          slice.map((u) => u.line),
        )
        // An order was written for the line: the line points at it even if a cancel came meanwhile.
        .where('status', 'in', ['pending', 'cancelled'])
        .execute();
    }
  for (const u of updates) {
    if (u.status === 'ordered' && u.orderId) continue;
    await db
      .updateTable('batch_lines')
      .set({
        status: u.status,
        order_id: u.orderId ?? null,
        code: u.code ?? null,
        message: u.message ?? null,
        field: u.field ?? null,
        sealed_card: null,
        sealed_key_id: null,
      })
      .where('batch_id', '=', batchId)
      .where('line', '=', u.line)
      .where('status', 'in', u.status === 'ordered' ? ['pending', 'cancelled'] : ['pending'])
      .execute();
  }
}

/** Every line not yet turned into an order is cancelled; returns how many. */
export async function cancelPending(db: Db, batchId: string): Promise<number> {
  const r = await db
    .updateTable('batch_lines')
    .set({ status: 'cancelled', code: 'batch_cancelled', sealed_card: null, sealed_key_id: null })
    .where('batch_id', '=', batchId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function lineCounts(db: Db, batchId: string): Promise<Record<LineRow['status'], number>> {
  const rows = await db
    .selectFrom('batch_lines')
    .select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
    .where('batch_id', '=', batchId)
    .groupBy('status')
    .execute();
  const out = { pending: 0, ordered: 0, refused: 0, cancelled: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

/** Lines in file order, a page at a time (the report). */
export const linesPage = (db: Db, batchId: string, afterLine: number, limit: number) =>
  db
    .selectFrom('batch_lines')
    .select([
      'line',
      'status',
      'card_type',
      'card_masked',
      'declared_face_value',
      'merchant_order_id',
      'order_id',
      'code',
    ])
    .where('batch_id', '=', batchId)
    .where('line', '>', afterLine)
    .orderBy('line')
    .limit(limit)
    .execute();

/** The ids of a batch's ordered lines (cancelling finds its unverified orders by them). */
export const orderedLineIds = (db: Db, batchId: string) =>
  db
    .selectFrom('batch_lines')
    .select(['line', 'order_id'])
    .where('batch_id', '=', batchId)
    .where('status', '=', 'ordered')
    .execute();

export async function setStatus(
  db: Db,
  id: string,
  from: BatchRow['status'],
  to: BatchRow['status'],
  nowMs: number,
  extra: Partial<Pick<BatchRow, 'completed_at' | 'report_csv' | 'report_sha256'>> = {},
): Promise<boolean> {
  const r = await db
    .updateTable('batches')
    .set({ status: to, updated_at: nowMs, ...extra })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Uploads still `receiving` since before `beforeMs`: their process died mid-upload. */
export const staleUploads = (db: Db, beforeMs: number) =>
  db
    .selectFrom('batches')
    .select('id')
    .where('status', '=', 'receiving')
    .where('updated_at', '<', beforeMs)
    .limit(100)
    .execute();

export const touchBatch = (db: Db, id: string, nowMs: number) =>
  db.updateTable('batches').set({ updated_at: nowMs }).where('id', '=', id).execute();
