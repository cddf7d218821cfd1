import { type Kysely, sql } from 'kysely';

/**
 * Money (docs/ledger.md, docs/settlement.md): the double-entry ledger's accounts and transfers, the
 * channels' settlement policy, sellers and their payout destinations, the settled orders waiting to
 * be paid, settlement batches and payouts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ledger_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('flags', 'integer', (c) => c.notNull())
    .addColumn('debits_pending', 'bigint', (c) => c.notNull())
    .addColumn('debits_posted', 'bigint', (c) => c.notNull())
    .addColumn('credits_pending', 'bigint', (c) => c.notNull())
    .addColumn('credits_posted', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ledger_accounts_kind')
    .on('ledger_accounts')
    .columns(['kind', 'currency', 'owner'])
    .execute();

  await db.schema
    .createTable('ledger_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** Time-ordered, unique: the order of entries in statements. */
    .addColumn('entry', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('debit_account_id', 'text', (c) => c.notNull())
    .addColumn('credit_account_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('code', 'integer', (c) => c.notNull())
    .addColumn('pending_id', 'text')
    .addColumn('timeout_s', 'integer')
    .addColumn('expires_at', 'bigint')
    .addColumn('pending_state', 'text')
    .addColumn('ref_type', 'text')
    .addColumn('ref_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // A pending transfer is resolved (posted, voided or expired) at most once: the database says so too.
  await db.schema
    .createIndex('ledger_transfers_pending')
    .on('ledger_transfers')
    .column('pending_id')
    .unique()
    .where('pending_id', 'is not', null)
    .execute();
  for (const side of ['debit_account_id', 'credit_account_id'])
    await db.schema
      .createIndex(`ledger_transfers_${side}`)
      .on('ledger_transfers')
      .columns([side, 'entry'])
      .execute();
  await db.schema
    .createIndex('ledger_transfers_ref')
    .on('ledger_transfers')
    .columns(['ref_type', 'ref_id'])
    .execute();
  await db.schema
    .createIndex('ledger_transfers_expiry')
    .on('ledger_transfers')
    .columns(['pending_state', 'expires_at'])
    .execute();

  for (const [name, type, dflt] of [
    ['settlement_cycle', 'text', "'T0'"],
    ['settlement_cutoff', 'text', "'00:00'"],
    ['settlement_time_zone', 'text', "'Asia/Shanghai'"],
    ['escrow', 'integer', '0'],
    ['min_payout', 'bigint', '0'],
    ['payout_fee', 'bigint', '0'],
  ] as const)
    await db.schema
      .alterTable('channels')
      .addColumn(name, type, (c) => c.notNull().defaultTo(sqlLiteral(dflt)))
      .execute();
  await db.schema.alterTable('channels').addColumn('seller_daily_payout_cap', 'bigint').execute();

  await db.schema
    .createTable('sellers')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('verified_name', 'text')
    .addColumn('verified', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('sellers_pk', ['channel_id', 'id'])
    .execute();

  await db.schema
    .createTable('payout_destinations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('network', 'text')
    .addColumn('holder_name', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('payout_destinations_seller')
    .on('payout_destinations')
    .columns(['channel_id', 'seller_id', 'status'])
    .execute();

  await db.schema
    .createTable('settlement_items')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('settled_at', 'bigint', (c) => c.notNull())
    .addColumn('batch_id', 'text')
    .addColumn('payout_id', 'text')
    .addColumn('paid_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('settlement_items_unpaid')
    .on('settlement_items')
    .columns(['channel_id', 'seller_id', 'payout_id', 'settled_at'])
    .execute();
  await db.schema.createIndex('settlement_items_payout').on('settlement_items').column('payout_id').execute();
  await db.schema.createIndex('settlement_items_batch').on('settlement_items').column('batch_id').execute();

  await db.schema
    .createTable('settlement_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('cycle', 'text', (c) => c.notNull())
    /** The business day (in the channel's time zone) whose settled orders it holds. */
    .addColumn('business_date', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('order_count', 'integer', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('settlement_batches_day')
    .on('settlement_batches')
    .columns(['channel_id', 'business_date', 'currency'])
    .unique()
    .execute();

  await db.schema
    .createTable('payouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('destination_id', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('fee', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('batch_id', 'text')
    .addColumn('order_count', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('provider_ref', 'text')
    .addColumn('raw_code', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('payouts_channel').on('payouts').columns(['channel_id', 'id']).execute();
  await db.schema
    .createIndex('payouts_seller_day')
    .on('payouts')
    .columns(['channel_id', 'seller_id', 'created_at'])
    .execute();
  await db.schema.createIndex('payouts_status').on('payouts').columns(['status', 'updated_at']).execute();
}

function sqlLiteral(text: string) {
  return sql.raw(text);
}
