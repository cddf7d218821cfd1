import type { Transaction } from 'kysely';
import { enqueueJob, enqueueJobs } from '../../jobs/store.js';
import { newId } from '../../shared/ids.js';
import { insertRows } from '../../storage/bulk.js';
import type { Db } from '../../storage/database.js';
import { preparedInsert } from '../../storage/prepared.js';
import type { Database, OrdersTable } from '../../storage/schema.js';
import type { EventLog } from '../events/index.js';
import type { PriceRow } from '../pricing/index.js';
import type { RedeemState } from '../verification/index.js';
import { eventTypeFor } from './events.js';
import { type OrderEvent, type OrderStatus, transition as step } from './lifecycle.js';
import { type OrderView, VERIFY_BATCH_ORDER, VERIFY_ORDER } from './model.js';
import type { OrderRow } from './store.js';
import { orderView } from './view.js';

/** Columns a change may set beside the status: what verification (and later review) found out. */
export type OrderFacts = Partial<
  Pick<
    OrdersTable,
    | 'reason'
    | 'raw_code'
    | 'actual_face_value'
    | 'redeem_state'
    | 'redemption_id'
    | 'waiting_for'
    | 'verified_at'
    | 'route_id'
    | 'issuer'
    | 'price_id'
    | 'approved_at'
  >
>;

export interface OrderChange {
  /** A lifecycle step; without one the change stays within the status (redeem progress). */
  event?: OrderEvent;
  /** The status the caller read the order in; the update is conditioned on it. */
  from: OrderStatus;
  /** Further conditions on the row: the redeem sub-state the caller read. */
  when?: { redeem_state?: RedeemState };
  facts?: OrderFacts;
  /** Why, for the order_events row (defaults to facts.reason). */
  reason?: string | null;
  nowMs: number;
}

export type ChangeResult =
  | { ok: true; order: OrderRow; to: OrderStatus }
  /** `refused`: the lifecycle has no such step; `raced`: the order was not as the caller read it. */
  | { ok: false; why: 'refused' | 'raced'; detail: string };

export interface TransitionDeps {
  events: EventLog;
  /** The price an order names, for its events' payload. */
  priceOf(db: Db, id: string): Promise<PriceRow | undefined>;
}

const insertOrderRow = preparedInsert('orders');
const insertOrderEvent = preparedInsert('order_events');

/**
 * The one writer of order state. Every status or outcome change of an order goes through
 * `change`: it applies the lifecycle, writes the `order_events` row and the event subscribers
 * react to, all in the caller's transaction. `place` writes a new order the same way.
 */
export function createOrderTransitions(deps: TransitionDeps) {
  async function announce(
    trx: Transaction<Database>,
    order: OrderRow,
    previous: OrderStatus | null,
    nowMs: number,
    price?: PriceRow,
  ) {
    const spec = eventTypeFor(order.status);
    if (!spec) return undefined;
    const priced = price ?? (order.price_id ? await deps.priceOf(trx, order.price_id) : undefined);
    const view = orderView(order, priced);
    await deps.events.append(trx, {
      spec,
      channelId: order.channel_id,
      subjectId: order.id,
      data: { order: view, previous_status: previous },
      nowMs,
    });
    return view;
  }

  return {
    /**
     * A new order, its first order_events row, its `order.submitted` event and its verify job.
     * Returns the order as shown (the event's view, so the answer need not build it again).
     */
    async place(
      trx: Transaction<Database>,
      order: OrderRow,
      price: PriceRow,
      /** Risk's hold at intake: the order is held at once and no verify job is written. */
      hold?: { event: 'hold_for_review' | 'freeze' | 'reject'; reason: string },
    ): Promise<OrderView> {
      if (order.status !== 'submitted') throw new Error(`a new order starts submitted, not ${order.status}`);
      const now = order.created_at;
      await insertOrderRow(trx, order);
      await insertOrderEvent(trx, {
        id: newId('oev', now),
        order_id: order.id,
        event: 'submit',
        from_status: null,
        to_status: order.status,
        reason: null,
        created_at: now,
      });
      const view = await announce(trx, order, null, now, price);
      if (hold) {
        const held = await this.change(trx, order.id, {
          event: hold.event,
          from: 'submitted',
          facts: { reason: hold.reason },
          nowMs: now,
        });
        if (!held.ok) throw new Error(`a new order could not be held: ${held.detail}`);
        return orderView(held.order, price);
      }
      await enqueueJob(trx, order.batch_id ? VERIFY_BATCH_ORDER : VERIFY_ORDER, { order_id: order.id }, now);
      return view ?? orderView(order, price);
    },

    /**
     * As `place` for many new orders in one transaction (a batch file's chunk), in few statements:
     * the orders, their first order_events rows, their events and their verify jobs. A held order is
     * placed alone (it changes status at once). Returns each order as shown, in order.
     */
    async placeMany(
      trx: Transaction<Database>,
      items: readonly {
        order: OrderRow;
        price: PriceRow;
        hold?: { event: 'hold_for_review' | 'freeze' | 'reject'; reason: string } | undefined;
      }[],
    ): Promise<OrderView[]> {
      const shown: (OrderView | undefined)[] = new Array(items.length);
      const free = items.flatMap((it, k) => (it.hold ? [] : [{ ...it, k }]));
      for (const it of free)
        if (it.order.status !== 'submitted')
          throw new Error(`a new order starts submitted, not ${it.order.status}`);
      await insertRows(
        trx,
        'orders',
        free.map((it) => it.order),
      );
      await insertRows(
        trx,
        'order_events',
        free.map((it) => ({
          id: newId('oev', it.order.created_at),
          order_id: it.order.id,
          event: 'submit',
          from_status: null,
          to_status: it.order.status,
          reason: null,
          created_at: it.order.created_at,
        })),
      );
      const spec = eventTypeFor('submitted');
      for (const it of free) shown[it.k] = orderView(it.order, it.price);
      if (spec)
        await deps.events.appendMany(
          trx,
          free.map((it) => ({
            spec,
            channelId: it.order.channel_id,
            subjectId: it.order.id,
            data: { order: shown[it.k], previous_status: null },
            nowMs: it.order.created_at,
          })),
        );
      await enqueueJobs(
        trx,
        free.map((it) => ({
          spec: it.order.batch_id ? VERIFY_BATCH_ORDER : VERIFY_ORDER,
          payload: { order_id: it.order.id },
          nowMs: it.order.created_at,
        })),
      );
      for (const [k, it] of items.entries())
        if (it.hold) shown[k] = await this.place(trx, it.order, it.price, it.hold);
      return shown as OrderView[];
    },

    async change(trx: Transaction<Database>, orderId: string, c: OrderChange): Promise<ChangeResult> {
      let to = c.from;
      // Without a lifecycle step only redeem progress may change, guarded by the sub-state read.
      if (c.event === undefined && (c.from !== 'verifying' || c.when?.redeem_state === undefined))
        return {
          ok: false,
          why: 'refused',
          detail: 'a change without a lifecycle step is redeem progress only',
        };
      if (c.event !== undefined) {
        const s = step(c.from, c.event);
        if (!s.ok) return { ok: false, why: 'refused', detail: s.reason };
        to = s.to;
      }
      let q = trx
        .updateTable('orders')
        .set({ ...c.facts, status: to, updated_at: c.nowMs })
        .where('id', '=', orderId)
        .where('status', '=', c.from);
      if (c.when?.redeem_state !== undefined) q = q.where('redeem_state', '=', c.when.redeem_state);
      const order = await q.returningAll().executeTakeFirst();
      if (!order) return { ok: false, why: 'raced', detail: `order ${orderId} is not ${c.from} as read` };
      if (c.event !== undefined) {
        await insertOrderEvent(trx, {
          id: newId('oev', c.nowMs),
          order_id: orderId,
          event: c.event,
          from_status: c.from,
          to_status: to,
          reason: c.reason !== undefined ? c.reason : (c.facts?.reason ?? null),
          created_at: c.nowMs,
        });
        await announce(trx, order, c.from, c.nowMs);
      }
      return { ok: true, order, to };
    },
  };
}

export type OrderTransitions = ReturnType<typeof createOrderTransitions>;
