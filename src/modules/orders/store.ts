import type { Selectable } from 'kysely';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import { prepared, preparedInsert } from '../../storage/prepared.js';
import type { OrdersTable } from '../../storage/schema.js';
import { type OrderEvent, type OrderStatus, type Transition, transition } from './lifecycle.js';
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

export function findOrder(db: Db, channelId: string, id: string): Promise<OrderRow | undefined> {
  return db
    .selectFrom('orders')
    .selectAll()
    .where('id', '=', id)
    .where('channel_id', '=', channelId)
    .executeTakeFirst();
}

const insertOrderRow = preparedInsert('orders');
const insertEvent = preparedInsert('order_events');

export async function insertOrder(db: Db, row: OrderRow, nowMs: number): Promise<void> {
  await insertOrderRow(db, row);
  await insertEvent(db, {
    id: newId('oev', nowMs),
    order_id: row.id,
    event: 'submit',
    from_status: null,
    to_status: row.status,
    reason: null,
    created_at: nowMs,
  });
}

/**
 * Moves an order by one lifecycle event: the status update (conditioned on the status it was read
 * in) and its `order_events` row, in the caller's transaction. A refused or raced step writes nothing.
 */
/** Columns a lifecycle step may set beside the status (the verification outcome). */
export type OrderOutcome = Partial<
  Pick<
    OrdersTable,
    | 'reason'
    | 'raw_code'
    | 'actual_face_value'
    | 'redeem_state'
    | 'waiting_for'
    | 'verified_at'
    | 'route_id'
    | 'issuer'
  >
>;

export async function applyOrderEvent(
  trx: Db,
  orderId: string,
  event: OrderEvent,
  nowMs: number,
  reason: string | null = null,
  outcome: OrderOutcome = {},
  /** The status the caller read the order in; saves reading it again (the update still checks it). */
  knownFrom?: OrderStatus,
): Promise<Transition | { ok: false; reason: string }> {
  let from = knownFrom;
  if (from === undefined) {
    const current = await trx
      .selectFrom('orders')
      .select('status')
      .where('id', '=', orderId)
      .executeTakeFirst();
    if (!current) return { ok: false, reason: `no order ${orderId}` };
    from = current.status as OrderStatus;
  }
  const step = transition(from, event);
  if (!step.ok) return step;
  const moved = await trx
    .updateTable('orders')
    .set({ ...outcome, status: step.to, updated_at: nowMs })
    .where('id', '=', orderId)
    .where('status', '=', step.from)
    .executeTakeFirst();
  if (moved.numUpdatedRows !== 1n) return { ok: false, reason: 'the order changed meanwhile' };
  await insertEvent(trx, {
    id: newId('oev', nowMs),
    order_id: orderId,
    event,
    from_status: step.from,
    to_status: step.to,
    reason,
    created_at: nowMs,
  });
  return step;
}

export async function listOrders(
  db: Db,
  channelId: string,
  q: OrderListQuery & { createdFromMs?: number; createdToMs?: number },
) {
  let query = db.selectFrom('orders').selectAll().where('channel_id', '=', channelId);
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
export async function* heldCardHashes(db: Db, pageSize = 10_000): AsyncGenerator<string> {
  let after = '';
  for (;;) {
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
