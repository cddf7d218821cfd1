import { sql } from 'kysely';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { SettlementSettings } from '../channels/index.js';
import { addDays, businessDate, startOfBusinessDate } from './business-day.js';
import { makePayout, type PayoutDeps } from './payouts.js';

export interface SweepDeps extends PayoutDeps {
  db: Db;
  policyOf(channelId: string, from: Db): Promise<SettlementSettings | undefined>;
}

/**
 * Closes finished business days of T+1 and T+3 channels into batches (one per channel, day and
 * currency): T+1 batches are due at once, T+3 ones on day +3 and only once finance approves them.
 */
export async function closeBatches(deps: SweepDeps): Promise<number> {
  const now = deps.now();
  const open = await deps.db
    .selectFrom('settlement_items')
    .select(['channel_id', 'currency', sql<number>`min(settled_at)`.as('first')])
    .where('batch_id', 'is', null)
    .where('payout_id', 'is', null)
    .where('paid_at', 'is', null)
    .groupBy(['channel_id', 'currency'])
    .execute();
  let made = 0;
  for (const g of open) {
    const policy = await deps.policyOf(g.channel_id, deps.db);
    if (!policy || policy.cycle === 'T0') continue;
    const today = businessDate(now, policy.time_zone, policy.cutoff);
    // Every closed day with unbatched orders, oldest first (usually just yesterday).
    for (
      let day = businessDate(Number(g.first), policy.time_zone, policy.cutoff);
      day < today;
      day = addDays(day, 1)
    ) {
      const from = startOfBusinessDate(day, policy.time_zone, policy.cutoff);
      const to = startOfBusinessDate(addDays(day, 1), policy.time_zone, policy.cutoff);
      const id = newId('stb', now);
      const t3 = policy.cycle === 'T3';
      const done = await deps.db.transaction().execute(async (trx) => {
        const items = await trx
          .selectFrom('settlement_items')
          .select(['order_id', 'amount'])
          .where('channel_id', '=', g.channel_id)
          .where('currency', '=', g.currency)
          .where('batch_id', 'is', null)
          .where('payout_id', 'is', null)
          .where('settled_at', '>=', from)
          .where('settled_at', '<', to)
          .execute();
        if (items.length === 0) return false;
        const inserted = await trx
          .insertInto('settlement_batches')
          .values({
            id,
            channel_id: g.channel_id,
            cycle: policy.cycle,
            business_date: day,
            status: t3 ? 'awaiting_approval' : 'approved',
            due_at: t3 ? startOfBusinessDate(addDays(day, 3), policy.time_zone, policy.cutoff) : to,
            order_count: items.length,
            amount: items.reduce((a, i) => a + i.amount, 0),
            currency: g.currency,
            approved_by: t3 ? null : 'system (T1)',
            approved_at: t3 ? null : now,
            created_at: now,
            updated_at: now,
          })
          .onConflict((oc) => oc.columns(['channel_id', 'business_date', 'currency']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
        await trx
          .updateTable('settlement_items')
          .set({ batch_id: id })
          .where(
            'order_id',
            'in',
            items.map((i) => i.order_id),
          )
          .where('batch_id', 'is', null)
          .execute();
        return true;
      });
      if (done) made++;
    }
  }
  return made;
}

/** Makes the payouts that are due and not made yet: one per seller and currency, each in its own transaction. */
export async function payDue(deps: SweepDeps): Promise<number> {
  const due = await deps.db
    .selectFrom('settlement_items')
    .select(['channel_id', 'seller_id', 'currency'])
    .where('payout_id', 'is', null)
    .where('paid_at', 'is', null)
    .groupBy(['channel_id', 'seller_id', 'currency'])
    .limit(5_000)
    .execute();
  let made = 0;
  for (const d of due) {
    const policy = await deps.policyOf(d.channel_id, deps.db);
    if (!policy) continue;
    const out = await deps.db.transaction().execute((trx) =>
      makePayout(trx, deps, policy, {
        channelId: d.channel_id,
        sellerId: d.seller_id,
        currency: d.currency,
      }),
    );
    if (out.made) made++;
  }
  return made;
}
