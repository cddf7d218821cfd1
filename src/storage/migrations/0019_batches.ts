import { type Kysely, sql } from 'kysely';

/**
 * Batch intake (docs/batches.md): a batch per uploaded file, one row per card line. A line keeps
 * its card sealed (never in clear) only until its order is written; then the ciphertext is wiped
 * and the line points at its order. Orders say which batch they came from.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('merchant_batch_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('file_name', 'text')
    .addColumn('file_sha256', 'text', (c) => c.notNull())
    .addColumn('file_bytes', 'bigint', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('encoding', 'text')
    .addColumn('card_type', 'text')
    .addColumn('declared_face_value', 'bigint')
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('report_sha256', 'text')
    .addColumn('report_csv', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('batches_merchant_id')
    .on('batches')
    .columns(['channel_id', 'merchant_batch_id'])
    .unique()
    .execute();
  await db.schema.createIndex('batches_channel').on('batches').columns(['channel_id', 'id']).execute();
  await db.schema.createIndex('batches_status').on('batches').columns(['status', 'updated_at']).execute();
  await db.schema
    .createTable('batch_lines')
    .addColumn('batch_id', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('card_type', 'text')
    .addColumn('card_masked', 'text')
    .addColumn('declared_face_value', 'bigint')
    .addColumn('merchant_order_id', 'text')
    .addColumn('sealed_key_id', 'text')
    .addColumn('sealed_card', 'text')
    .addColumn('order_id', 'text')
    .addColumn('code', 'text')
    .addColumn('message', 'text')
    .addColumn('field', 'text')
    .addPrimaryKeyConstraint('batch_lines_pk', ['batch_id', 'line'])
    .execute();
  await db.schema.alterTable('orders').addColumn('batch_id', 'text').execute();
  await sql`create index orders_batch on orders (batch_id, id) where batch_id is not null`.execute(db);
}
