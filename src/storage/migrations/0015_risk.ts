import type { Kysely } from 'kysely';

/**
 * The risk engine (docs/risk.md): rules as data, the assessments recorded on orders, blacklists by
 * keyed hash, suspicious-activity reports, what the engine remembers of each seller (where they
 * were last seen), and step-up SMS challenges.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('risk_rules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();
  await db.schema
    .createTable('risk_assessments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('fired', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('risk_assessments_order').on('risk_assessments').column('order_id').execute();
  await db.schema
    .createTable('risk_blacklist')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('value_hash', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('risk_blacklist_value', ['kind', 'value_hash'])
    .execute();
  await db.schema
    .createTable('risk_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('risk_reports_order_kind', ['order_id', 'kind'])
    .execute();
  await db.schema.createIndex('risk_reports_created').on('risk_reports').column('created_at').execute();
  await db.schema
    .createTable('risk_seller_profiles')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_lat', 'real')
    .addColumn('last_lon', 'real')
    .addColumn('last_city', 'text')
    .addColumn('last_located_at', 'bigint')
    .addColumn('prev_lat', 'real')
    .addColumn('prev_lon', 'real')
    .addColumn('prev_city', 'text')
    .addColumn('prev_located_at', 'bigint')
    .addPrimaryKeyConstraint('risk_seller_profiles_pk', ['channel_id', 'seller_id'])
    .execute();
  await db.schema
    .createTable('risk_step_ups')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('phone_sealed', 'text', (c) => c.notNull())
    .addColumn('phone_last4', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('verified_at', 'bigint')
    .execute();
}
