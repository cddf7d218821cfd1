import type { Kysely } from 'kysely';
import { newId } from '../../shared/ids.js';

/**
 * Default payout rates of the seeded catalogue, in basis points of the face value (9 600 = the seller
 * gets 96 %). Operators change them at /admin/v1/rates; this is only the start.
 */
const DEFAULT_RATES: Record<string, number> = {
  cmcc_national: 9_600,
  cmcc_zhejiang: 9_500,
  cmcc_jiangsu: 9_500,
  cmcc_liaoning: 9_500,
  unicom_national: 9_550,
  telecom_national: 9_500,
  telecom_guangdong: 9_450,
  jd_ecard: 9_650,
  supermarket_gift: 9_000,
  sinopec_fuel: 9_400,
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('channel_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  const channels = db.schema.alterTable('channels');
  await channels.addColumn('group_id', 'text', (c) => c.references('channel_groups.id')).execute();
  /** Null: the card's own currency. */
  await channels.addColumn('settlement_currency', 'text').execute();

  // One version of one sheet: never updated, superseded by a later version of the same sheet.
  await db.schema
    .createTable('rate_sheets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tier', 'text', (c) => c.notNull())
    .addColumn('tier_id', 'text', (c) => c.notNull())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('effective_from', 'bigint', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rate_sheets_key')
    .on('rate_sheets')
    .columns(['card_type', 'kind', 'tier', 'tier_id', 'effective_from'])
    .execute();
  await db.schema
    .createTable('rate_ranges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sheet_id', 'text', (c) => c.notNull().references('rate_sheets.id'))
    .addColumn('face_min', 'bigint', (c) => c.notNull())
    .addColumn('face_max', 'bigint', (c) => c.notNull())
    .addColumn('bps', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_ranges_sheet').on('rate_ranges').column('sheet_id').execute();

  await db.schema
    .createTable('rate_adjustment_policies')
    .addColumn('card_type', 'text', (c) => c.primaryKey())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('window_s', 'integer', (c) => c.notNull())
    .addColumn('min_orders', 'integer', (c) => c.notNull())
    .addColumn('failure_rate_bps', 'integer', (c) => c.notNull())
    .addColumn('review_rate_bps', 'integer', (c) => c.notNull())
    .addColumn('step_bps', 'integer', (c) => c.notNull())
    .addColumn('floor_bps', 'integer', (c) => c.notNull())
    .addColumn('ceiling_bps', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // Every automatic change, with the bounds and the counts it was decided on.
  await db.schema
    .createTable('rate_adjustments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('adjustment_bps', 'integer', (c) => c.notNull())
    .addColumn('floor_bps', 'integer', (c) => c.notNull())
    .addColumn('ceiling_bps', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('outcomes_total', 'integer', (c) => c.notNull())
    .addColumn('outcomes_failed', 'integer', (c) => c.notNull())
    .addColumn('outcomes_review', 'integer', (c) => c.notNull())
    .addColumn('effective_from', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('rate_adjustments_card_type')
    .on('rate_adjustments')
    .columns(['card_type', 'effective_from'])
    .execute();

  await db.schema
    .createTable('fx_rates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('base', 'text', (c) => c.notNull())
    .addColumn('quote', 'text', (c) => c.notNull())
    /** Exact decimal text as published (1 base = rate quote); never a float. */
    .addColumn('rate', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('as_of', 'bigint', (c) => c.notNull())
    .addColumn('valid_until', 'bigint')
    /** 1 once a price used it: kept for explanations; unused feed rates are pruned after a week. */
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // A feed read twice without moving adds nothing.
  await db.schema
    .createIndex('fx_rates_unique')
    .on('fx_rates')
    .columns(['source', 'base', 'quote', 'as_of'])
    .unique()
    .execute();
  await db.schema.createIndex('fx_rates_as_of').on('fx_rates').columns(['as_of']).execute();
  await db.schema.createIndex('fx_rates_valid_until').on('fx_rates').columns(['valid_until']).execute();

  // A price as computed (quote, intake or repricing), with every input that made it.
  await db.schema
    .createTable('prices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
    .addColumn('order_id', 'text')
    .addColumn('replaces', 'text')
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('face_value', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('rate_bps', 'integer', (c) => c.notNull())
    .addColumn('table_rate_bps', 'integer', (c) => c.notNull())
    .addColumn('rate_range_id', 'text', (c) => c.notNull())
    .addColumn('commission_bps', 'integer', (c) => c.notNull())
    .addColumn('commission_range_id', 'text')
    .addColumn('adjustment_bps', 'integer', (c) => c.notNull())
    .addColumn('adjustment_id', 'text')
    .addColumn('seller_amount', 'bigint', (c) => c.notNull())
    .addColumn('commission_amount', 'bigint', (c) => c.notNull())
    .addColumn('margin_amount', 'bigint', (c) => c.notNull())
    .addColumn('payout_amount', 'bigint', (c) => c.notNull())
    .addColumn('payout_currency', 'text', (c) => c.notNull())
    .addColumn('fx_rate_id', 'text')
    .addColumn('fx_base', 'text')
    .addColumn('fx_quote', 'text')
    .addColumn('fx_rate', 'text')
    .addColumn('fx_as_of', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .execute();
  await db.schema.createIndex('prices_order').on('prices').column('order_id').execute();

  const orders = db.schema.alterTable('orders');
  await orders.addColumn('price_id', 'text').execute();
  await orders.addColumn('quote_id', 'text').execute();
  // Unused quotes are pruned; the index finds the ones an order was settled by.
  await db.schema.createIndex('orders_quote').on('orders').column('quote_id').execute();
  // Recent verification outcomes per issuer feed the automatic rate adjustment.
  await db.schema.createIndex('order_events_created').on('order_events').column('created_at').execute();

  const now = Date.now();
  const types = await (db as Kysely<{ card_types: { code: string; face_values: string } }>)
    .selectFrom('card_types')
    .select(['code', 'face_values'])
    .execute();
  const sheets: Record<string, unknown>[] = [];
  const ranges: Record<string, unknown>[] = [];
  for (const t of types) {
    const bps = DEFAULT_RATES[t.code];
    if (bps === undefined) continue;
    const faces = JSON.parse(t.face_values) as number[];
    const sheetId = newId('rts', now);
    sheets.push({
      id: sheetId,
      tier: 'default',
      tier_id: '',
      card_type: t.code,
      kind: 'rate',
      effective_from: 0,
      note: 'seeded default',
      created_at: now,
    });
    ranges.push({
      id: newId('rat', now),
      sheet_id: sheetId,
      face_min: Math.min(...faces),
      face_max: Math.max(...faces),
      bps,
    });
  }
  if (sheets.length > 0) {
    const typed = db as Kysely<{
      rate_sheets: Record<string, unknown>;
      rate_ranges: Record<string, unknown>;
    }>;
    await typed.insertInto('rate_sheets').values(sheets).execute();
    await typed.insertInto('rate_ranges').values(ranges).execute();
  }
}
