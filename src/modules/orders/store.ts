import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { OrdersTable } from '../../storage/schema.js';
import type { OrderListQuery } from './model.js';

export type OrderRow = Selectable<OrdersTable>;

const HELD = ['invalid', 'failed', 'rejected'] as const;

const byMerchantOrderId = prepared<{ channelId: string; merchantOrderId: string }>((db, p) =>
  db
    .selectFrom('orders')
    .selectAll()
    .where('channel_id', '=', p.channelId)
    .where('merchant_order_id', '=', p.merchantOrderId),
);

export async function findByMerchantOrderId(
  db: Db,
  channelId: string,
  merchantOrderId: string,
): Promise<OrderRow | undefined> {
  return (await byMerchantOrderId.run<OrderRow>(db, { channelId, merchantOrderId })).rows[0];
}

/** Which of these merchant_order_ids the channel has used already (a batch chunk run again). */
export async function heldMerchantOrderIds(
  db: Db,
  channelId: string,
  merchantOrderIds: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < merchantOrderIds.length; i += 500) {
    const rows = await db
      .selectFrom('orders')
      .select('merchant_order_id')
      .where('channel_id', '=', channelId)
      .where('merchant_order_id', 'in', merchantOrderIds.slice(i, i + 500))
      .execute();
    for (const r of rows) found.add(r.merchant_order_id);
  }
  return found;
}

/** Is the card held by an order anywhere (any channel)? Mirrors the partial unique index. */
export async function isCardHeld(db: Db, cardHash: string): Promise<boolean> {
  const row = await db
    .selectFrom('orders')
    .select('id')
    .where('card_hash', '=', cardHash)
    .where('status', 'not in', HELD)
    .executeTakeFirst();
  return row !== undefined;
}

/** Whom an order is about: its card (hash, masked), channel, seller, device and end-user IP. */
export function intakeSubjectsOf(db: Db, orderId: string) {
  return db
    .selectFrom('orders')
    .select([
      'card_hash',
      'card_type',
      'card_last4',
      'card_number_length',
      'channel_id',
      'seller_id',
      'device_id',
      'client_ip',
    ])
    .where('id', '=', orderId)
    .executeTakeFirst();
}

/** A channel's order; with `sellerId`, only if that seller handed it in (the h5 seller page). */
export function findOrder(
  db: Db,
  channelId: string,
  id: string,
  sellerId?: string,
): Promise<OrderRow | undefined> {
  let q = db.selectFrom('orders').selectAll().where('id', '=', id).where('channel_id', '=', channelId);
  if (sellerId !== undefined) q = q.where('seller_id', '=', sellerId);
  return q.executeTakeFirst();
}

/** What the verify worker needs of an order, read fresh at every pass. */
export function forVerification(db: Db, orderId: string) {
  return db
    .selectFrom('orders')
    .select([
      'id',
      'channel_id',
      'status',
      'card_type',
      'seller_id',
      'currency',
      'declared_face_value',
      'actual_face_value',
      'redemption_id',
      'redeem_state',
      'route_id',
      'raw_code',
      'reason',
      'price_id',
      'approved_at',
      'card_wrapped_key',
      'card_ciphertext',
    ])
    .where('id', '=', orderId)
    .executeTakeFirst();
}

/** Orders in submitted or verifying untouched since `beforeMs`, oldest first. */
export function staleVerifications(db: Db, beforeMs: number, limit: number) {
  return db
    .selectFrom('orders')
    .select(['id', 'status', 'redeem_state'])
    .where('status', 'in', ['submitted', 'verifying'])
    .where('updated_at', '<', beforeMs)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

/**
 * Verification outcomes per card type since `sinceMs`: the steps out of `submitted`/`verifying`
 * into an end of verification (redeemed, invalid, failed, review).
 */
export function outcomeCounts(db: Db, sinceMs: number) {
  return db
    .selectFrom('order_events')
    .innerJoin('orders', 'orders.id', 'order_events.order_id')
    .select(['orders.card_type', 'order_events.to_status'])
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('order_events.created_at', '>=', sinceMs)
    .where('order_events.from_status', 'in', ['submitted', 'verifying'])
    .where('order_events.to_status', 'in', ['redeemed', 'invalid', 'failed', 'review'])
    .groupBy(['orders.card_type', 'order_events.to_status'])
    .execute();
}

/** Which of these quote ids an order names (a quote an order settled at is kept). */
export async function quotesInUse(db: Db, quoteIds: readonly string[]): Promise<Set<string>> {
  if (quoteIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('orders')
    .select('quote_id')
    .where('quote_id', 'in', [...quoteIds])
    .execute();
  return new Set(rows.flatMap((r) => (r.quote_id ? [r.quote_id] : [])));
}

export async function listOrders(
  db: Db,
  channelId: string,
  q: OrderListQuery & { createdFromMs?: number; createdToMs?: number; sellerId?: string },
) {
  let query = db.selectFrom('orders').selectAll().where('channel_id', '=', channelId);
  if (q.sellerId !== undefined) query = query.where('seller_id', '=', q.sellerId);
  if (q.merchant_order_id) query = query.where('merchant_order_id', '=', q.merchant_order_id);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.card_type) query = query.where('card_type', '=', q.card_type);
  if (q.createdFromMs !== undefined) query = query.where('created_at', '>=', q.createdFromMs);
  if (q.createdToMs !== undefined) query = query.where('created_at', '<', q.createdToMs);
  if (q.cursor) query = query.where('id', '<', q.cursor);
  return query
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
}

/** Card hashes of every order that holds its card, page by page, to rebuild the duplicate filter. */
export async function* heldCardHashes(db: Db, pageSize = 10_000, maxPages = 100_000): AsyncGenerator<string> {
  let after = '';
  // Bounded: a billion held cards at the default page size; past that the filter is refused, not hung.
  for (let page = 0; page < maxPages; page++) {
    const rows = await db
      .selectFrom('orders')
      .select(['id', 'card_hash'])
      .where('status', 'not in', HELD)
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    for (const r of rows) yield r.card_hash;
    if (rows.length < pageSize) return;
    after = rows.at(-1)?.id ?? after;
  }
  throw new Error(`more than ${maxPages} pages of held cards: raise the page size`);
}

export async function countToRewrap(db: Db, activeKeyId: string): Promise<number> {
  const row = await db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('card_key_id', '!=', activeKeyId)
    .where('card_wrapped_key', 'is not', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export function ordersToRewrap(db: Db, activeKeyId: string, limit: number) {
  return db
    .selectFrom('orders')
    .select(['id', 'card_wrapped_key'])
    .where('card_key_id', '!=', activeKeyId)
    .where('card_wrapped_key', 'is not', null)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function setWrappedKey(
  db: Db,
  id: string,
  oldWrapped: string,
  keyId: string,
  wrapped: string,
): Promise<boolean> {
  const r = await db
    .updateTable('orders')
    .set({ card_key_id: keyId, card_wrapped_key: wrapped })
    .where('id', '=', id)
    .where('card_wrapped_key', '=', oldWrapped)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** An order's `order_events` rows, oldest first (a reviewer reads what happened to it). */
export function historyOf(db: Db, orderId: string) {
  return db
    .selectFrom('order_events')
    .select(['event', 'from_status', 'to_status', 'reason', 'created_at'])
    .where('order_id', '=', orderId)
    .orderBy('id')
    .execute();
}

/** A seller's orders on one channel: counts and declared amounts per status and currency, and the latest few. */
export async function sellerHistory(db: Db, channelId: string, sellerId: string, recent: number) {
  const byStatus = await db
    .selectFrom('orders')
    .select((eb) => [
      'status',
      'currency',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.sum<number | string>('declared_face_value').as('declared'),
    ])
    .where('channel_id', '=', channelId)
    .where('seller_id', '=', sellerId)
    .groupBy(['status', 'currency'])
    .execute();
  const latest = await db
    .selectFrom('orders')
    .select(['id', 'status', 'reason', 'declared_face_value', 'actual_face_value', 'currency', 'created_at'])
    .where('channel_id', '=', channelId)
    .where('seller_id', '=', sellerId)
    .orderBy('id', 'desc')
    .limit(recent)
    .execute();
  return {
    byStatus: byStatus.map((r) => ({
      status: r.status,
      currency: r.currency,
      count: Number(r.n),
      declared_amount: Number(r.declared ?? 0),
    })),
    latest,
  };
}

/** A batch's orders by status, reason and currency: how many, and their declared and actual face values. */
export async function batchCounts(db: Db, batchId: string) {
  const rows = await db
    .selectFrom('orders')
    .select((eb) => [
      'status',
      'reason',
      'currency',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.sum<number | string>('declared_face_value').as('declared'),
      eb.fn.sum<number | string | null>('actual_face_value').as('actual'),
    ])
    .where('batch_id', '=', batchId)
    .groupBy(['status', 'reason', 'currency'])
    .execute();
  return rows.map((r) => ({
    status: r.status,
    reason: r.reason,
    currency: r.currency,
    count: Number(r.n),
    declared: Number(r.declared ?? 0),
    actual: Number(r.actual ?? 0),
  }));
}

/** A batch's orders in id order, a page at a time. */
/** A batch's orders of these ids (a page of the batch's report). */
export function batchOrderRows(db: Db, batchId: string, ids: readonly string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('orders')
    .selectAll()
    .where('id', 'in', [...ids])
    .where('batch_id', '=', batchId)
    .execute();
}
