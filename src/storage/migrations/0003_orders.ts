import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
    .addColumn('merchant_order_id', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('card_hash', 'text', (c) => c.notNull())
    .addColumn('card_last4', 'text', (c) => c.notNull())
    .addColumn('card_number_length', 'integer', (c) => c.notNull())
    .addColumn('card_key_id', 'text', (c) => c.notNull())
    .addColumn('card_wrapped_key', 'text')
    .addColumn('card_ciphertext', 'text')
    .addColumn('declared_face_value', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('seller_name', 'text')
    .addColumn('callback_url', 'text')
    .addColumn('attach', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('device_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('user_registered_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('orders_merchant_order_id', ['channel_id', 'merchant_order_id'])
    .execute();
  // The truth about duplicates: one order at a time may hold a card (docs/architecture.md#security; lifecycle.holdsCard).
  await sql`create unique index orders_card_held on orders (card_hash) where status not in ('invalid', 'failed', 'rejected')`.execute(
    db,
  );
  await db.schema.createIndex('orders_channel_list').on('orders').columns(['channel_id', 'id']).execute();
  await db.schema.createIndex('orders_card_key').on('orders').column('card_key_id').execute();

  await db.schema
    .createTable('order_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('order_events_order').on('order_events').columns(['order_id', 'id']).execute();
}
