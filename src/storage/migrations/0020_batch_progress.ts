import { type Kysely, sql } from 'kysely';

/**
 * A batch's progress counts its lines by status and its orders by outcome and amount. Read from the
 * tables, a 100,000-line batch took ~100 ms of SQLite per read, which blocked the process each time
 * a merchant polled; these indexes hold every column those counts need, so they are read from the
 * index alone. The orders' index is partial: orders not from a file pay nothing for it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index batch_lines_status on batch_lines (batch_id, status)`.execute(db);
  await sql`create index orders_batch_outcome on orders (batch_id, status, reason, currency, declared_face_value, actual_face_value) where batch_id is not null`.execute(
    db,
  );
}
