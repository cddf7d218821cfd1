import type { Kysely } from 'kysely';

/**
 * Seller logins on h5 channels (docs/h5-sellers.md): accounts (phone kept only as a keyed hash and
 * its last four digits) and sessions (only the SHA-256 of the token), plus the index a seller's own
 * order list reads by.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('seller_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('phone_hash', 'text', (c) => c.notNull())
    .addColumn('phone_last4', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('failed_logins', 'integer', (c) => c.notNull())
    .addColumn('failed_since', 'bigint')
    .addColumn('locked_until', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('seller_accounts_phone', ['channel_id', 'phone_hash'])
    .addUniqueConstraint('seller_accounts_seller', ['channel_id', 'seller_id'])
    .execute();
  await db.schema
    .createTable('seller_sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('seller_sessions_account').on('seller_sessions').column('account_id').execute();
  // A seller's own orders, newest first (GET /h5/v1/orders).
  await db.schema
    .createIndex('orders_channel_seller')
    .on('orders')
    .columns(['channel_id', 'seller_id', 'id'])
    .execute();
}
