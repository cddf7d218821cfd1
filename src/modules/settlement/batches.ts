import { sql } from 'kysely';
import { enqueueJob, hasLiveJob } from '../../jobs/store.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { SettlementSettings } from '../channels/index.js';
import { addDays, businessDate, startOfBusinessDate } from './business-day.js';
import { SEND_PAYOUT } from './model.js';
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
        // An order taken into settlement after its day was closed joins that day's batch.
        const existing = await trx
          .selectFrom('settlement_batches')
          .select(['id', 'status'])
          .where('channel_id', '=', g.channel_id)
          .where('business_date', '=', day)
          .where('currency', '=', g.currency)
          .executeTakeFirst();
        const id = existing?.id ?? newId('stb', now);
        if (!existing)
          await trx
            .insertInto('settlement_batches')
            .values({
              id,
              channel_id: g.channel_id,
              cycle: policy.cycle,
              business_date: day,
              status: t3 ? 'awaiting_approval' : 'approved',
              due_at: t3 ? startOfBusinessDate(addDays(day, 3), policy.time_zone, policy.cutoff) : to,
              order_count: 0,
              amount: 0,
              currency: g.currency,
              approved_by: t3 ? null : 'system (T1)',
              approved_at: t3 ? null : now,
              created_at: now,
              updated_at: now,
            })
            .execute();
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
        // A T+3 day that finance approved without these orders must be looked at again.
        if (existing && t3 && existing.status === 'approved')
          await trx
            .updateTable('settlement_batches')
            .set({ status: 'awaiting_approval', approved_by: null, approved_at: null, updated_at: now })
            .where('id', '=', id)
            .execute();
        const totals = await trx
          .selectFrom('settlement_items')
          .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(amount), 0)`.as('amount')])
          .where('batch_id', '=', id)
          .executeTakeFirstOrThrow();
        await trx
          .updateTable('settlement_batches')
          .set({ order_count: Number(totals.n), amount: Number(totals.amount), updated_at: now })
          .where('id', '=', id)
          .execute();
        return true;
      });
      if (done) made++;
    }
  }
  return made;
}

/** Where the last sweep stopped, so that sellers who wait for good never keep the others out. */
const cursors = new WeakMap<object, { channel: string; seller: string; currency: string }>();
const PAGE = 2_000;

/**
 * Makes the payouts that are due and not made yet: one per seller and currency, each in its own
 * transaction. One seller's trouble is logged and skipped; a page at a time, resuming where the
 * last sweep stopped.
 */
export async function payDue(deps: SweepDeps, onError?: (err: Error, key: string) => void): Promise<number> {
  const now = deps.now();
  const from = cursors.get(deps) ?? { channel: '', seller: '', currency: '' };
  // Only sellers with something due are visited (as makePayout decides it): an approved batch past
  // its due time, or, on a T+0 channel, what no batch holds. Sellers merely owed on T+1 and T+3
  // channels cost nothing here (every seller owed used to cost a transaction every sweep).
  const owed = await deps.db
    .selectFrom('settlement_items')
    .select('channel_id')
    .distinct()
    .where('payout_id', 'is', null)
    .where('paid_at', 'is', null)
    .execute();
  const policies = new Map<string, SettlementSettings | undefined>();
  for (const { channel_id } of owed) policies.set(channel_id, await deps.policyOf(channel_id, deps.db));
  const immediate = [...policies].filter(([, p]) => p?.cycle === 'T0').map(([channel]) => channel);
  let q = deps.db
    .selectFrom('settlement_items as i')
    .leftJoin('settlement_batches as b', 'b.id', 'i.batch_id')
    .select(['i.channel_id', 'i.seller_id', 'i.currency'])
    .where('i.payout_id', 'is', null)
    .where('i.paid_at', 'is', null)
    .where((eb) => {
      const due = eb.and([eb('b.status', '=', 'approved'), eb('b.due_at', '<=', now)]);
      return immediate.length === 0
        ? due
        : eb.or([due, eb.and([eb('i.batch_id', 'is', null), eb('i.channel_id', 'in', immediate)])]);
    })
    .groupBy(['i.channel_id', 'i.seller_id', 'i.currency'])
    .orderBy('i.channel_id')
    .orderBy('i.seller_id')
    .orderBy('i.currency')
    .limit(PAGE);
  if (from.channel !== '')
    q = q.where((eb) =>
      eb.or([
        eb('i.channel_id', '>', from.channel),
        eb.and([eb('i.channel_id', '=', from.channel), eb('i.seller_id', '>', from.seller)]),
        eb.and([
          eb('i.channel_id', '=', from.channel),
          eb('i.seller_id', '=', from.seller),
          eb('i.currency', '>', from.currency),
        ]),
      ]),
    );
  const due = await q.execute();
  const last = due.at(-1);
  if (due.length < PAGE || !last) cursors.delete(deps);
  else cursors.set(deps, { channel: last.channel_id, seller: last.seller_id, currency: last.currency });
  let made = 0;
  for (const d of due) {
    try {
      const policy = policies.get(d.channel_id);
      if (!policy) continue;
      const out = await deps.db.transaction().execute((trx) =>
        makePayout(trx, deps, policy, {
          channelId: d.channel_id,
          sellerId: d.seller_id,
          currency: d.currency,
        }),
      );
      if (out.made) made++;
    } catch (err) {
      onError?.(err as Error, `${d.channel_id}/${d.seller_id}/${d.currency}`);
    }
  }
  return made;
}

const STALE_MS = 5 * 60_000;

/** Payouts not decided yet whose job is gone (it died after its attempts): each gets a new job. */
export async function revivePayouts(deps: SweepDeps): Promise<number> {
  const stale = await deps.db
    .selectFrom('payouts')
    .select(['id', 'attempts'])
    .where('status', 'in', ['created', 'sending', 'accepted', 'unknown'])
    // Every run of a payout's job touches it; the longest wait between runs is a minute.
    .where('updated_at', '<', deps.now() - STALE_MS)
    .orderBy('updated_at')
    .limit(500)
    .execute();
  let revived = 0;
  for (const p of stale) {
    if (await hasLiveJob(deps.db, SEND_PAYOUT, { payout_id: p.id })) continue;
    await enqueueJob(deps.db, SEND_PAYOUT, { payout_id: p.id }, deps.now(), {
      uniqueKey: `payout:${p.id}:${p.attempts}:${deps.now()}`,
    });
    revived++;
  }
  return revived;
}
