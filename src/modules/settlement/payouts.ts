import type { Transaction } from 'kysely';
import { sql } from 'kysely';
import type { PayoutAnswer } from '../../adapters/payouts/port.js';
import { enqueueJob } from '../../jobs/store.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import type { SettlementSettings } from '../channels/index.js';
import type { EventLog } from '../events/index.js';
import { type Ledger, type PayoutMoney, payoutFailed, payoutHold, payoutPaid } from '../ledger/index.js';
import type { OrderService } from '../orders/index.js';
import type { SellerService } from '../sellers/index.js';
import { businessDate, startOfBusinessDate } from './business-day.js';
import { PAYOUT_FAILED, PAYOUT_PAID } from './events.js';
import { type PayoutStatus, type PayoutView, SEND_PAYOUT } from './model.js';

type Trx = Transaction<Database>;
export type PayoutRow = Database['payouts'];

const UNDECIDED = ['created', 'sending', 'accepted', 'unknown'];
/** What an admin may resolve: a payout whose outcome is unknown, with no call to the provider on its way. */
export const RESOLVABLE = ['unknown', 'accepted'] as const;

/** Paying more than ¥5,000 a day to one seller needs a verified seller. */
export const UNVERIFIED_DAILY_LIMIT_CNY = 500_000;

/** Which provider pays a destination kind. */
export const PROVIDER_OF: Record<string, string> = {
  alipay: 'alipay',
  wechat: 'wechat',
  bank_card: 'bank_file',
  usdt: 'usdt',
};

export interface PayoutDeps {
  ledger: Ledger;
  sellers: SellerService;
  orders: Pick<OrderService, 'change'>;
  /** Only appending: the log is built after the subscribers that use it. */
  events: Pick<EventLog, 'append'>;
  now(): number;
}

export function payoutView(p: PayoutRow, orderIds?: string[]): PayoutView {
  return {
    id: p.id,
    channel_id: p.channel_id,
    seller_id: p.seller_id,
    destination_id: p.destination_id,
    provider: p.provider,
    status: p.status as PayoutStatus,
    amount: p.amount,
    fee: p.fee,
    currency: p.currency,
    order_count: p.order_count,
    ...(orderIds ? { order_ids: orderIds } : {}),
    batch_id: p.batch_id,
    provider_ref: p.provider_ref,
    reason: p.reason,
    attempts: p.attempts,
    created_at: rfc3339(p.created_at),
    finished_at: p.finished_at === null ? null : rfc3339(p.finished_at),
  };
}

/** What a payout books (docs/ledger.md#postings-of-the-flow). */
export const moneyOf = (p: PayoutRow): PayoutMoney => ({
  payoutId: p.id,
  channelId: p.channel_id,
  sellerId: p.seller_id,
  provider: p.provider,
  currency: p.currency,
  amount: p.amount,
  fee: p.fee,
});

export type MakeOutcome =
  | { made: true; payout: PayoutRow }
  | { made: false; why: 'nothing_due' | 'no_destination' | 'below_minimum' | 'daily_cap_reached' };

/**
 * Makes one payout of what a seller is owed and due in a currency, in the caller's transaction: the
 * payout row, its orders, its holds in the ledger and its send job, or nothing.
 */
export async function makePayout(
  trx: Trx,
  deps: PayoutDeps,
  policy: SettlementSettings,
  key: { channelId: string; sellerId: string; currency: string },
): Promise<MakeOutcome> {
  const now = deps.now();
  await deps.sellers.lock(trx, key.channelId, key.sellerId);
  let q = trx
    .selectFrom('settlement_items as i')
    .leftJoin('settlement_batches as b', 'b.id', 'i.batch_id')
    .select(['i.order_id', 'i.amount', 'i.batch_id'])
    .where('i.channel_id', '=', key.channelId)
    .where('i.seller_id', '=', key.sellerId)
    .where('i.currency', '=', key.currency)
    .where('i.payout_id', 'is', null)
    .where('i.paid_at', 'is', null)
    .orderBy('i.settled_at')
    .orderBy('i.order_id')
    .limit(1_000);
  // T+0 pays what is credited; T+1 and T+3 only what an approved batch made due. An order already
  // in a batch waits for it whatever the cycle is now (a channel moved from T+3 to T+0 skips no approval).
  q = q.where((eb) => {
    const due = eb.and([eb('b.status', '=', 'approved'), eb('b.due_at', '<=', now)]);
    return policy.cycle === 'T0' ? eb.or([eb('i.batch_id', 'is', null), due]) : due;
  });
  const items = await q.execute();
  if (items.length === 0) return { made: false, why: 'nothing_due' };
  const target = await deps.sellers.payoutTarget(trx, key.channelId, key.sellerId, key.currency);
  if (!target) return { made: false, why: 'no_destination' };

  // What was paid today counts only where a daily limit applies (reading the day costs time-zone work).
  let room = Number.MAX_SAFE_INTEGER;
  if (policy.seller_daily_payout_cap !== null) room = policy.seller_daily_payout_cap;
  if (!target.verified && key.currency === 'CNY') room = Math.min(room, UNVERIFIED_DAILY_LIMIT_CNY);
  if (room !== Number.MAX_SAFE_INTEGER) {
    const dayStart = startOfBusinessDate(
      businessDate(now, policy.time_zone, policy.cutoff),
      policy.time_zone,
      policy.cutoff,
    );
    const today = await trx
      .selectFrom('payouts')
      .select(sql<string>`coalesce(sum(amount + fee), 0)`.as('total'))
      .where('channel_id', '=', key.channelId)
      .where('seller_id', '=', key.sellerId)
      .where('currency', '=', key.currency)
      .where('created_at', '>=', dayStart)
      .where('status', '!=', 'failed')
      .executeTakeFirstOrThrow();
    room -= Number(today.total);
  }
  const picked: typeof items = [];
  let total = 0;
  for (const it of items) {
    if (total + it.amount > room) break;
    picked.push(it);
    total += it.amount;
  }
  if (picked.length === 0) return { made: false, why: 'daily_cap_reached' };
  if (total < Math.max(policy.min_payout, 1) || total <= policy.payout_fee)
    return { made: false, why: 'below_minimum' };

  const batches = new Set(picked.map((i) => i.batch_id));
  const payout: PayoutRow = {
    id: newId('po', now),
    channel_id: key.channelId,
    seller_id: key.sellerId,
    destination_id: target.destinationId,
    provider: PROVIDER_OF[target.destination.kind] as string,
    amount: total - policy.payout_fee,
    fee: policy.payout_fee,
    currency: key.currency,
    status: 'created',
    batch_id: batches.size === 1 ? ([...batches][0] ?? null) : null,
    order_count: picked.length,
    attempts: 0,
    provider_ref: null,
    raw_code: null,
    reason: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    finished_at: null,
  };
  await trx.insertInto('payouts').values(payout).execute();
  const claimed = await trx
    .updateTable('settlement_items')
    .set({ payout_id: payout.id })
    .where(
      'order_id',
      'in',
      picked.map((i) => i.order_id),
    )
    .where('payout_id', 'is', null)
    .executeTakeFirst();
  // Another transaction took some of these orders first: this payout must not exist.
  if (Number(claimed.numUpdatedRows) !== picked.length)
    throw new Error(`payout ${payout.id}: orders taken meanwhile`);
  const hold = payoutHold(moneyOf(payout));
  await deps.ledger.post(trx, hold.transfers, hold.open);
  await enqueueJob(trx, SEND_PAYOUT, { payout_id: payout.id }, now, { uniqueKey: `payout:${payout.id}` });
  return { made: true, payout };
}

/**
 * Decides a payout once: the status moves only from one of `from` (an admin: only undecided ones
 * with no call on its way), so whoever tells second finds nothing to do.
 */
function decide(trx: Trx, id: string, from: readonly string[], set: Partial<PayoutRow>) {
  return trx
    .updateTable('payouts')
    .set(set)
    .where('id', '=', id)
    .where('status', 'in', [...from])
    .returningAll()
    .executeTakeFirst();
}

/** The provider paid: holds posted, orders paid, `payout.paid` — once, whoever tells first. */
export async function completePaid(
  trx: Trx,
  deps: PayoutDeps,
  id: string,
  answer: Pick<PayoutAnswer, 'providerRef' | 'rawCode'>,
  from: readonly string[] = UNDECIDED,
): Promise<boolean> {
  const now = deps.now();
  const p = await decide(trx, id, from, {
    status: 'paid',
    provider_ref: answer.providerRef ?? null,
    raw_code: answer.rawCode ?? null,
    finished_at: now,
    updated_at: now,
  });
  if (!p) return false;
  const paid = payoutPaid(moneyOf(p));
  await deps.ledger.post(trx, paid.transfers, paid.open);
  const orderIds = await ordersOf(trx, id);
  await trx.updateTable('settlement_items').set({ paid_at: now }).where('payout_id', '=', id).execute();
  for (const orderId of orderIds) {
    const moved = await deps.orders.change(trx, orderId, { event: 'pay', from: 'settled', nowMs: now });
    if (!moved.ok) throw new Error(`order ${orderId} of payout ${id} cannot be paid: ${moved.detail}`);
  }
  await announce(trx, deps, PAYOUT_PAID, p, orderIds, now);
  return true;
}

/** The provider refused: holds released, the orders wait for the next payout, `payout.failed`. */
export async function completeFailed(
  trx: Trx,
  deps: PayoutDeps,
  id: string,
  answer: Pick<PayoutAnswer, 'rawCode' | 'rawMessage'>,
  from: readonly string[] = UNDECIDED,
): Promise<boolean> {
  const now = deps.now();
  const p = await decide(trx, id, from, {
    status: 'failed',
    raw_code: answer.rawCode ?? null,
    reason: (answer.rawCode ?? answer.rawMessage ?? 'failed').slice(0, 200),
    finished_at: now,
    updated_at: now,
  });
  if (!p) return false;
  await deps.ledger.post(trx, payoutFailed(moneyOf(p)).transfers);
  const orderIds = await ordersOf(trx, id);
  await trx.updateTable('settlement_items').set({ payout_id: null }).where('payout_id', '=', id).execute();
  await announce(trx, deps, PAYOUT_FAILED, p, orderIds, now);
  return true;
}

function announce(
  trx: Trx,
  deps: PayoutDeps,
  spec: typeof PAYOUT_PAID,
  p: PayoutRow,
  orderIds: string[],
  nowMs: number,
) {
  return deps.events.append(trx, {
    spec,
    channelId: p.channel_id,
    subjectId: p.id,
    data: { payout: payoutView(p, orderIds) },
    nowMs,
  });
}

export function findPayout(from: Db, id: string) {
  return from.selectFrom('payouts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function ordersOf(from: Db, payoutId: string): Promise<string[]> {
  const rows = await from
    .selectFrom('settlement_items')
    .select('order_id')
    .where('payout_id', '=', payoutId)
    .orderBy('order_id')
    .execute();
  return rows.map((r) => r.order_id);
}
