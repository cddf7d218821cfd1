import { type Kysely, sql } from 'kysely';

/**
 * The manual review queue (docs/reviews.md): one case per order a person must look at, with its
 * claim and its decision; and on orders, when a reviewer approved the order (verification then
 * redeems what it would otherwise send back to review).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reviews')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires_at', 'bigint')
    .addColumn('decision', 'text')
    .addColumn('comment', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // One undecided case per order at a time.
  await sql`create unique index reviews_open_order on reviews (order_id) where status <> 'decided'`.execute(
    db,
  );
  // The queue, oldest first, and the metric's look at what waits.
  await db.schema.createIndex('reviews_queue').on('reviews').columns(['status', 'id']).execute();
  await db.schema.createIndex('reviews_order').on('reviews').columns(['order_id', 'id']).execute();
  await db.schema.alterTable('orders').addColumn('approved_at', 'bigint').execute();
}
