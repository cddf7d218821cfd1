import { stringify } from 'csv-stringify/sync';
import { rfc3339 } from '../../shared/clock.js';
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
      const payables = sellerId
        ? await ledger.accounts({ kind: 'seller_payable', owner: sellerOwner(channelId, sellerId) })
        : await ledger.accounts({ kind: 'seller_payable', ownerPrefix: `${channelId}/` });
      const byCurrency = new Map<string, { owed: number; in_payment: number; available: number }>();
      for (const a of payables) {
        const c = byCurrency.get(a.currency) ?? { owed: 0, in_payment: 0, available: 0 };
        c.owed += a.balance;
        c.in_payment += a.debits_pending;
        c.available += a.available;
        byCurrency.set(a.currency, c);
      }
      const commission = await ledger.accounts({ kind: 'channel_commission', owner: channelId });
      return {
        seller_id: sellerId ?? null,
        sellers: [...byCurrency].map(([currency, v]) => ({ currency, ...v })),
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
      if (!['unknown', 'accepted', 'sending'].includes(p.status))
        return fail(
          'payout_not_unknown',
          `Payout ${id} is ${p.status}; only an undecided payout can be resolved.`,
          { field: 'params.id' },
        );
      const done = await db.transaction().execute((trx) =>
        input.outcome === 'paid'
          ? completePaid(trx, deps, id, {
              providerRef: input.provider_ref ?? p.provider_ref ?? undefined,
              rawCode: `manual: ${input.note}`.slice(0, 200),
            })
          : completeFailed(trx, deps, id, { rawCode: 'manual', rawMessage: input.note }),
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
            r.seller_id,
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
