import { stringify } from 'csv-stringify/sync';
import { sql } from 'kysely';
import { rfc3339 } from '../../shared/clock.js';
import { safeCell } from '../../shared/csv-cell.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import { type Ledger, sellerOwner } from '../ledger/index.js';
import type {
  AdminPayoutListQuery,
  BalanceView,
  BatchListQuery,
  BatchView,
  PayoutView,
  ResolvePayout,
} from './model.js';
import {
  completeFailed,
  completePaid,
  findPayout,
  ordersOf,
  type PayoutDeps,
  payoutView,
  RESOLVABLE,
} from './payouts.js';

type Answer<T> = Promise<Result<T, 'resource_not_found' | 'already_approved' | 'payout_not_unknown'>>;

function batchView(b: Database['settlement_batches']): BatchView {
  return {
    id: b.id,
    channel_id: b.channel_id,
    cycle: b.cycle,
    business_date: b.business_date,
    status: b.status as BatchView['status'],
    due_at: rfc3339(b.due_at),
    order_count: b.order_count,
    amount: b.amount,
    currency: b.currency,
    approved_by: b.approved_by,
    approved_at: b.approved_at === null ? null : rfc3339(b.approved_at),
    created_at: rfc3339(b.created_at),
  };
}

export interface SettlementServiceDeps extends PayoutDeps {
  db: Db;
  ledger: Ledger;
  /** Wakes the worker's payout and sweep slots after an approval or a resolution. */
  onChanged?(): void;
}

/** Balances, payouts and settlement batches as channels and admins see them. */
export function createSettlementService(deps: SettlementServiceDeps) {
  const { db, ledger } = deps;
  return {
    async balance(channelId: string, sellerId?: string): Promise<BalanceView> {
      // One seller: its own account. The channel: summed in the database, however many sellers it has.
      const sellers = sellerId
        ? (await ledger.accounts({ kind: 'seller_payable', owner: sellerOwner(channelId, sellerId) })).map(
            (a) => ({
              currency: a.currency,
              owed: a.balance,
              in_payment: a.debits_pending,
              available: a.available,
            }),
          )
        : (await ledger.totals('seller_payable', `${channelId}/`)).map((t) => ({
            currency: t.currency,
            owed: t.netCredit,
            in_payment: t.debitsPending,
            available: t.netCredit - t.debitsPending,
          }));
      const commission = await ledger.accounts({ kind: 'channel_commission', owner: channelId });
      return {
        seller_id: sellerId ?? null,
        sellers,
        commission: commission.map((a) => ({ currency: a.currency, balance: a.balance })),
      };
    },

    async payouts(q: AdminPayoutListQuery) {
      let s = db
        .selectFrom('payouts')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(q.limit + 1);
      if (q.channel_id) s = s.where('channel_id', '=', q.channel_id);
      if (q.status) s = s.where('status', '=', q.status);
      if (q.seller_id) s = s.where('seller_id', '=', q.seller_id);
      if (q.cursor) s = s.where('id', '<', q.cursor);
      const rows = await s.execute();
      const data = rows.slice(0, q.limit).map((p) => payoutView(p));
      return { data, next_cursor: rows.length > q.limit ? (data.at(-1)?.id ?? null) : null };
    },

    async payout(id: string, channelId?: string): Answer<PayoutView> {
      const p = await findPayout(db, id);
      if (!p || (channelId !== undefined && p.channel_id !== channelId))
        return fail('resource_not_found', `No payout ${id}.`, { field: 'params.id' });
      return ok(payoutView(p, await ordersOf(db, id)));
    },

    /**
     * An admin settles a payout whose outcome stayed unknown, after checking the provider's own
     * records. Only an unknown (or accepted) payout can be resolved; a final one is 409.
     */
    async resolve(id: string, input: ResolvePayout): Answer<PayoutView> {
      const p = await findPayout(db, id);
      if (!p) return fail('resource_not_found', `No payout ${id}.`, { field: 'params.id' });
      // Not `sending`: a call may be on its way; its answer (or the lookup after it) decides.
      if (!['unknown', 'accepted'].includes(p.status))
        return fail(
          'payout_not_unknown',
          `Payout ${id} is ${p.status}; only an undecided payout can be resolved.`,
          { field: 'params.id' },
        );
      const done = await db.transaction().execute((trx) =>
        input.outcome === 'paid'
          ? completePaid(
              trx,
              deps,
              id,
              {
                providerRef: input.provider_ref ?? p.provider_ref ?? undefined,
                rawCode: `manual: ${input.note}`.slice(0, 200),
              },
              RESOLVABLE,
            )
          : // Conditioned in the write too: a job that moved it to `sending` meanwhile wins.
            completeFailed(trx, deps, id, { rawCode: 'manual', rawMessage: input.note }, RESOLVABLE),
      );
      if (!done)
        return fail('payout_not_unknown', `Payout ${id} was decided meanwhile.`, { field: 'params.id' });
      deps.onChanged?.();
      return ok(payoutView((await findPayout(db, id)) as Database['payouts'], await ordersOf(db, id)));
    },

    async batches(q: BatchListQuery) {
      let s = db
        .selectFrom('settlement_batches')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(q.limit + 1);
      if (q.channel_id) s = s.where('channel_id', '=', q.channel_id);
      if (q.status) s = s.where('status', '=', q.status);
      if (q.cursor) s = s.where('id', '<', q.cursor);
      const rows = await s.execute();
      const data = rows.slice(0, q.limit).map(batchView);
      return { data, next_cursor: rows.length > q.limit ? (data.at(-1)?.id ?? null) : null };
    },

    async batch(id: string): Answer<BatchView> {
      const b = await db.selectFrom('settlement_batches').selectAll().where('id', '=', id).executeTakeFirst();
      return b
        ? ok(batchView(b))
        : fail('resource_not_found', `No settlement batch ${id}.`, { field: 'params.id' });
    },

    /** Finance approves a T+3 batch; its payouts go out once it is due. A second approval is 409. */
    async approve(id: string, by: string): Answer<BatchView> {
      const now = deps.now();
      const r = await db
        .updateTable('settlement_batches')
        .set({ status: 'approved', approved_by: by, approved_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'awaiting_approval')
        .executeTakeFirst();
      const b = await db.selectFrom('settlement_batches').selectAll().where('id', '=', id).executeTakeFirst();
      if (!b) return fail('resource_not_found', `No settlement batch ${id}.`, { field: 'params.id' });
      if (Number(r.numUpdatedRows) !== 1)
        return fail(
          'already_approved',
          `Batch ${id} was approved by ${b.approved_by} at ${rfc3339(b.approved_at ?? 0)}.`,
          { field: 'params.id' },
        );
      deps.onChanged?.();
      return ok(batchView(b));
    },

    /** The batch's orders as CSV, for finance. */
    async batchCsv(id: string): Answer<string> {
      const b = await db
        .selectFrom('settlement_batches')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!b) return fail('resource_not_found', `No settlement batch ${id}.`, { field: 'params.id' });
      const rows = await db
        .selectFrom('settlement_items as i')
        .leftJoin('payouts as p', 'p.id', 'i.payout_id')
        .select([
          'i.order_id',
          'i.seller_id',
          'i.amount',
          'i.currency',
          'i.settled_at',
          'i.payout_id',
          'p.status as payout_status',
          'i.paid_at',
        ])
        .where('i.batch_id', '=', id)
        .orderBy('i.order_id')
        .execute();
      return ok(
        stringify(
          rows.map((r) => [
            r.order_id,
            safeCell(r.seller_id),
            r.amount,
            r.currency,
            rfc3339(r.settled_at),
            r.payout_id ?? '',
            r.payout_status ?? '',
            r.paid_at === null ? '' : rfc3339(r.paid_at),
          ]),
          {
            header: true,
            columns: [
              'order_id',
              'seller_id',
              'amount',
              'currency',
              'settled_at',
              'payout_id',
              'payout_status',
              'paid_at',
            ],
          },
        ),
      );
    },

    /** Settlement's record of these orders, for `recard ledger check`. */
    async itemsForAudit(orderIds: readonly string[]) {
      const out = new Map<
        string,
        { payout_id: string | null; paid_at: number | null; payout_status: string | null }
      >();
      if (orderIds.length === 0) return out;
      const rows = await db
        .selectFrom('settlement_items as i')
        .leftJoin('payouts as p', 'p.id', 'i.payout_id')
        .select(['i.order_id', 'i.payout_id', 'i.paid_at', 'p.status as payout_status'])
        .where('i.order_id', 'in', [...orderIds])
        .execute();
      for (const r of rows)
        out.set(r.order_id, { payout_id: r.payout_id, paid_at: r.paid_at, payout_status: r.payout_status });
      return out;
    },

    /** How many orders a payout carries and what they add up to. */
    async payoutItemTotal(payoutId: string) {
      const r = await db
        .selectFrom('settlement_items')
        .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(amount), 0)`.as('amount')])
        .where('payout_id', '=', payoutId)
        .executeTakeFirstOrThrow();
      return { count: Number(r.n), amount: Number(r.amount) };
    },

    /** Every payout with what the ledger should hold for it (`recard ledger check`). */
    async payoutsForAudit(after: string, limit: number) {
      return db
        .selectFrom('payouts')
        .selectAll()
        .where('id', '>', after)
        .orderBy('id')
        .limit(limit)
        .execute();
    },
  };
}

export type SettlementService = ReturnType<typeof createSettlementService>;
