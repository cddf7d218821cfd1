import type { Insertable, Selectable } from 'kysely';
import { insertRows } from '../../storage/bulk.js';
import type { Db } from '../../storage/database.js';
import { preparedInsert } from '../../storage/prepared.js';
import type {
  FxRatesTable,
  PricesTable,
  RateAdjustmentPoliciesTable,
  RateAdjustmentsTable,
} from '../../storage/schema.js';
import type { FxQuoteRow, FxSource } from './fx.js';
import type { RateKind, RateSheet, Tier } from './rates.js';

export type PriceRow = Selectable<PricesTable>;
export type PolicyRow = Selectable<RateAdjustmentPoliciesTable>;
export type AdjustmentRow = Selectable<RateAdjustmentsTable>;
export type FxRateRow = Selectable<FxRatesTable>;

/** Every version of every rate sheet, with its ranges. Small: sheets change by hand. */
export async function loadSheets(db: Db): Promise<RateSheet[]> {
  const sheets = await db.selectFrom('rate_sheets').selectAll().execute();
  const ranges = await db.selectFrom('rate_ranges').selectAll().orderBy('face_min').execute();
  const bySheet = new Map<string, RateSheet>();
  for (const s of sheets)
    bySheet.set(s.id, {
      id: s.id,
      tier: s.tier as Tier,
      tierId: s.tier_id,
      cardType: s.card_type,
      kind: s.kind as RateKind,
      effectiveFrom: s.effective_from,
      note: s.note,
      createdAt: s.created_at,
      ranges: [],
    });
  for (const r of ranges)
    bySheet.get(r.sheet_id)?.ranges.push({ id: r.id, faceMin: r.face_min, faceMax: r.face_max, bps: r.bps });
  return [...bySheet.values()];
}

export async function insertSheet(db: Db, sheet: RateSheet): Promise<void> {
  await db
    .insertInto('rate_sheets')
    .values({
      id: sheet.id,
      tier: sheet.tier,
      tier_id: sheet.tierId,
      card_type: sheet.cardType,
      kind: sheet.kind,
      effective_from: sheet.effectiveFrom,
      note: sheet.note,
      created_at: sheet.createdAt,
    })
    .execute();
  if (sheet.ranges.length > 0)
    await db
      .insertInto('rate_ranges')
      .values(
        sheet.ranges.map((r) => ({
          id: r.id,
          sheet_id: sheet.id,
          face_min: r.faceMin,
          face_max: r.faceMax,
          bps: r.bps,
        })),
      )
      .execute();
}

export function loadAdjustments(db: Db): Promise<AdjustmentRow[]> {
  return db.selectFrom('rate_adjustments').selectAll().orderBy('effective_from').orderBy('id').execute();
}

export async function insertAdjustment(db: Db, row: AdjustmentRow): Promise<void> {
  await db.insertInto('rate_adjustments').values(row).execute();
}

export function listPolicies(db: Db): Promise<PolicyRow[]> {
  return db.selectFrom('rate_adjustment_policies').selectAll().orderBy('card_type').execute();
}

export async function upsertPolicy(db: Db, row: PolicyRow): Promise<void> {
  const { card_type: _key, ...rest } = row;
  await db
    .insertInto('rate_adjustment_policies')
    .values(row)
    .onConflict((oc) => oc.column('card_type').doUpdateSet(rest))
    .execute();
}

/**
 * A manual rate, in one statement: two PUTs of a pair in the same millisecond share the moment
 * (`source, base, quote, as_of` is unique), and the later one replaces the earlier — unless a price
 * already used it, which keeps it as it was (undefined: the caller answers 409).
 */
export function upsertManualFx(db: Db, row: Insertable<FxRatesTable>): Promise<FxRateRow | undefined> {
  return db
    .insertInto('fx_rates')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['source', 'base', 'quote', 'as_of'])
        .doUpdateSet({ rate: row.rate, valid_until: row.valid_until })
        .where('fx_rates.used', '=', 0),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Rates that may still be fresh at `now`: recent feed rates and manual rates not yet expired. */
export async function candidateFxRates(db: Db, now: number, maxAgeMs: number): Promise<FxQuoteRow[]> {
  const rows = await db
    .selectFrom('fx_rates')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('source', '=', 'feed'), eb('as_of', '>=', now - maxAgeMs)]),
        eb.and([eb('source', '=', 'manual'), eb('valid_until', '>', now)]),
      ]),
    )
    .execute();
  return rows.map(fxQuoteRow);
}

export function fxQuoteRow(r: FxRateRow): FxQuoteRow {
  return {
    id: r.id,
    base: r.base,
    quote: r.quote,
    rate: r.rate,
    source: r.source as FxSource,
    asOf: r.as_of,
    validUntil: r.valid_until,
  };
}

/** The newest rate of every pair and source, for people. */
export async function latestFxRates(db: Db): Promise<FxRateRow[]> {
  const rows = await db
    .selectFrom('fx_rates')
    .selectAll()
    .where('as_of', '>=', (eb) =>
      eb
        .selectFrom('fx_rates as newer')
        .select((e) => e.fn.max('newer.as_of').as('m'))
        .whereRef('newer.base', '=', 'fx_rates.base')
        .whereRef('newer.quote', '=', 'fx_rates.quote')
        .whereRef('newer.source', '=', 'fx_rates.source'),
    )
    .orderBy('base')
    .orderBy('quote')
    .orderBy('source')
    .execute();
  // Two rows with the same as_of: keep the later written.
  const seen = new Map<string, FxRateRow>();
  for (const r of rows) {
    const key = `${r.base}/${r.quote}/${r.source}`;
    const had = seen.get(key);
    if (!had || had.id < r.id) seen.set(key, r);
  }
  return [...seen.values()];
}

export function findFxRate(db: Db, id: string): Promise<FxRateRow | undefined> {
  return db.selectFrom('fx_rates').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Writes a price; the exchange rate it used is marked as used, so pruning keeps it. */
const insertPriceRow = preparedInsert('prices');

export async function insertPrice(db: Db, row: PriceRow): Promise<void> {
  await insertPriceRow(db, row);
  if (row.fx_rate_id) await markFxUsed(db, [row.fx_rate_id]);
}

/** As insertPrice for many prices (a batch file's chunk): few statements. */
export async function insertPrices(db: Db, rows: readonly PriceRow[]): Promise<void> {
  await insertRows(db, 'prices', rows);
  const fx = [...new Set(rows.flatMap((r) => (r.fx_rate_id ? [r.fx_rate_id] : [])))];
  if (fx.length > 0) await markFxUsed(db, fx);
}

function markFxUsed(db: Db, ids: readonly string[]) {
  return db.updateTable('fx_rates').set({ used: 1 }).where('id', 'in', ids).where('used', '=', 0).execute();
}

/** Deletes up to `limit` feed rates older than `beforeMs` that no price used; returns how many. */
export async function pruneFxRates(db: Db, beforeMs: number, limit: number): Promise<number> {
  const ids = await db
    .selectFrom('fx_rates')
    .select('id')
    .where('source', '=', 'feed')
    .where('used', '=', 0)
    .where('as_of', '<', beforeMs)
    .limit(limit)
    .execute();
  return deleteByIds(db, 'fx_rates', ids);
}

export function findPrice(db: Db, id: string): Promise<PriceRow | undefined> {
  return db.selectFrom('prices').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function pricesByIds(db: Db, ids: string[]): Promise<Map<string, PriceRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('prices').selectAll().where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export function findRangeWithSheet(db: Db, rangeId: string) {
  return db
    .selectFrom('rate_ranges')
    .innerJoin('rate_sheets', 'rate_sheets.id', 'rate_ranges.sheet_id')
    .select([
      'rate_ranges.id',
      'rate_ranges.face_min',
      'rate_ranges.face_max',
      'rate_ranges.bps',
      'rate_sheets.id as sheet_id',
      'rate_sheets.tier',
      'rate_sheets.tier_id',
      'rate_sheets.kind',
      'rate_sheets.effective_from',
      'rate_sheets.note',
      'rate_sheets.created_at',
    ])
    .where('rate_ranges.id', '=', rangeId)
    .executeTakeFirst();
}

export function findAdjustment(db: Db, id: string): Promise<AdjustmentRow | undefined> {
  return db.selectFrom('rate_adjustments').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Deletes quotes expired before `beforeMs` that no order names (orders say which they name), up to
 * `limit` looked at, oldest first after `afterId`. Returns how many went and the last id looked at.
 */
export async function pruneQuotes(
  db: Db,
  beforeMs: number,
  limit: number,
  inUse: (ids: string[]) => Promise<Set<string>>,
  afterId = '',
): Promise<{ removed: number; looked: number; lastId: string }> {
  const rows = await db
    .selectFrom('prices')
    .select('id')
    .where('kind', '=', 'quote')
    .where('expires_at', '<', beforeMs)
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit)
    .execute();
  const used = await inUse(rows.map((r) => r.id));
  const removed = await deleteByIds(
    db,
    'prices',
    rows.filter((r) => !used.has(r.id)),
  );
  return { removed, looked: rows.length, lastId: rows.at(-1)?.id ?? afterId };
}

/** Deletes the rows a pruning query selected; returns how many went. */
async function deleteByIds(db: Db, table: 'prices' | 'fx_rates', ids: { id: string }[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .deleteFrom(table)
    .where(
      'id',
      'in',
      ids.map((i) => i.id),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
