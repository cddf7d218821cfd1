import type { Transaction } from 'kysely';
import { addDays, businessDate, startOfBusinessDate } from '../../shared/business-day.js';
import { rfc3339 } from '../../shared/clock.js';
import { type Failure, fail } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import type { ChannelView } from './model.js';

export type DailyLimitError = Failure<'daily_limit_reached'>;

/** When the business day of `nowMs` ends: the next cut-off in the channel's settlement zone. */
export function dailyReset(channel: ChannelView, nowMs: number): number {
  const { time_zone: tz, cutoff } = channel.settlement;
  return startOfBusinessDate(addDays(businessDate(nowMs, tz, cutoff), 1), tz, cutoff);
}

function refused(channel: ChannelView, nowMs: number, what: string): DailyLimitError {
  const reset = dailyReset(channel, nowMs);
  return fail('daily_limit_reached', `${what} The daily limits reset at ${rfc3339(reset)}.`, {
    retryAfterS: Math.max(1, Math.ceil((reset - nowMs) / 1000)),
  });
}

/** The refusal of an order past the channel's daily caps. */
function limitRefusal(channel: ChannelView, nowMs: number): DailyLimitError {
  const { daily_order_cap: orderCap, daily_amount_cap: amountCap, currency } = channel.limits;
  const caps = `The channel's daily caps are ${orderCap ?? 'no limit of'} orders and ${
    amountCap ?? 'no limit of'
  } ${currency} minor units.`;
  return refused(channel, nowMs, `This order would exceed them. ${caps}`);
}

/**
 * Counts one order of `amount` against the channel's daily caps, in the order's own transaction:
 * one conditional upsert of the day's row, so concurrent intakes never overshoot a cap (on
 * PostgreSQL the row lock orders them; on SQLite there is one writer) and an order that is rolled
 * back (a duplicate, a failure) is not counted. A channel without caps writes nothing.
 */
export async function claimDailyUsage(
  trx: Transaction<Database>,
  channel: ChannelView,
  amount: number,
  nowMs: number,
): Promise<DailyLimitError | null> {
  const { daily_order_cap: orderCap, daily_amount_cap: amountCap } = channel.limits;
  if (orderCap === null && amountCap === null) return null;
  if ((orderCap !== null && orderCap < 1) || (amountCap !== null && amount > amountCap))
    return limitRefusal(channel, nowMs);
  const date = businessDate(nowMs, channel.settlement.time_zone, channel.settlement.cutoff);
  const counted = await trx
    .insertInto('channel_daily_usage')
    .values({ channel_id: channel.id, business_date: date, orders: 1, amount })
    .onConflict((oc) => {
      let update = oc.columns(['channel_id', 'business_date']).doUpdateSet((eb) => ({
        orders: eb('channel_daily_usage.orders', '+', 1),
        amount: eb('channel_daily_usage.amount', '+', amount),
      }));
      if (orderCap !== null) update = update.where('channel_daily_usage.orders', '<', orderCap);
      if (amountCap !== null)
        update = update.where((eb) => eb(eb('channel_daily_usage.amount', '+', amount), '<=', amountCap));
      return update;
    })
    .returning('orders')
    .executeTakeFirst();
  return counted ? null : limitRefusal(channel, nowMs);
}

/**
 * Counts many orders (a batch slice), in the order given, each at its own time: each is answered as
 * `claimDailyUsage` would answer it one after the other. Per business day, one upsert takes the
 * day's row (and, on PostgreSQL, its lock, so a concurrent intake waits) and one update adds what
 * was taken; a channel without caps writes nothing.
 */
export async function claimDailyUsageMany(
  trx: Transaction<Database>,
  channel: ChannelView,
  orders: readonly { amount: number; nowMs: number }[],
): Promise<(DailyLimitError | null)[]> {
  const { daily_order_cap: orderCap, daily_amount_cap: amountCap } = channel.limits;
  if (orderCap === null && amountCap === null) return orders.map(() => null);
  const days = new Map<string, { orders: number; amount: number; taken: number; takenAmount: number }>();
  const answers: (DailyLimitError | null)[] = [];
  for (const o of orders) {
    const date = businessDate(o.nowMs, channel.settlement.time_zone, channel.settlement.cutoff);
    let day = days.get(date);
    if (!day) {
      const row = await trx
        .insertInto('channel_daily_usage')
        .values({ channel_id: channel.id, business_date: date, orders: 0, amount: 0 })
        .onConflict((oc) =>
          oc
            .columns(['channel_id', 'business_date'])
            .doUpdateSet((eb) => ({ orders: eb.ref('channel_daily_usage.orders') })),
        )
        .returning(['orders', 'amount'])
        .executeTakeFirstOrThrow();
      day = { orders: Number(row.orders), amount: Number(row.amount), taken: 0, takenAmount: 0 };
      days.set(date, day);
    }
    const fits =
      (orderCap === null || day.orders + day.taken < orderCap) &&
      (amountCap === null || day.amount + day.takenAmount + o.amount <= amountCap);
    if (fits) {
      day.taken++;
      day.takenAmount += o.amount;
    }
    answers.push(fits ? null : limitRefusal(channel, o.nowMs));
  }
  for (const [date, day] of days) {
    if (day.taken === 0) continue;
    await trx
      .updateTable('channel_daily_usage')
      .set((eb) => ({
        orders: eb('orders', '+', day.taken),
        amount: eb('amount', '+', day.takenAmount),
      }))
      .where('channel_id', '=', channel.id)
      .where('business_date', '=', date)
      .execute();
  }
  return answers;
}

/** What the channel took in on the business day of `nowMs` (for the admin view and tests). */
export async function dailyUsage(
  db: Db,
  channel: ChannelView,
  nowMs: number,
): Promise<{ business_date: string; orders: number; amount: number }> {
  const date = businessDate(nowMs, channel.settlement.time_zone, channel.settlement.cutoff);
  const row = await db
    .selectFrom('channel_daily_usage')
    .select(['orders', 'amount'])
    .where('channel_id', '=', channel.id)
    .where('business_date', '=', date)
    .executeTakeFirst();
  return { business_date: date, orders: Number(row?.orders ?? 0), amount: Number(row?.amount ?? 0) };
}
