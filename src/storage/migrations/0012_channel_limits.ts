import type { Kysely } from 'kysely';

/**
 * Channel policy and abuse limits (docs/limits.md): per-order amount limits, daily caps, a request
 * rate, an IP allowlist and required order fields on each channel; the fields they require on
 * orders; one counter row per channel and business day for the daily caps. Existing channels keep
 * no limits (every new column is null or empty), so nothing they do today is refused.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('channels')
    .addColumn('limit_currency', 'text', (c) => c.notNull().defaultTo('CNY'))
    .execute();
  for (const [name, type] of [
    ['order_min', 'bigint'],
    ['order_max', 'bigint'],
    ['daily_amount_cap', 'bigint'],
    ['daily_order_cap', 'bigint'],
    ['rate_per_second', 'double precision'],
    ['rate_burst', 'integer'],
  ] as const)
    await db.schema.alterTable('channels').addColumn(name, type).execute();
  for (const name of ['ip_allowlist', 'required_fields'])
    await db.schema
      .alterTable('channels')
      .addColumn(name, 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();

  for (const name of ['platform_order_id', 'store_terminal_id', 'blockchain_address'])
    await db.schema.alterTable('orders').addColumn(name, 'text').execute();

  // What a channel took in per business day (its settlement zone and cut-off): the daily caps
  // are a conditional update of this row in the order's own transaction.
  await db.schema
    .createTable('channel_daily_usage')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('business_date', 'text', (c) => c.notNull())
    .addColumn('orders', 'bigint', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('channel_daily_usage_pk', ['channel_id', 'business_date'])
    .execute();
}
