import {
  checkLedgerRules,
  orderMoneyOf,
  payoutHold,
  payoutPaid,
  redemption,
  type TransferInput,
  type TransferRecord,
  type Violation,
} from '../modules/ledger/index.js';
import type { OrderView } from '../modules/orders/index.js';
import { payoutMoneyOf } from '../modules/settlement/index.js';
import type { Context } from './context.js';

const PAGE = 1_000;
const BOOKED = new Set(['settled', 'paid']);
const NOTHING_BOUGHT = new Set(['invalid', 'failed', 'rejected']);
/** A settled order's settlement record is written by the next job: this long is not yet a fault. */
const SETTLEMENT_LAG_MS = 5 * 60_000;

/**
 * `recard ledger check`: the ledger's own invariants, and that the flow's records and the ledger
 * agree — every order in `redeemed` or later has exactly its postings (ids, kinds, amounts and
 * accounts as the flow books them), every paid order is in exactly one paid payout, and every payout
 * has its clearing entries and carries its orders' amounts (docs/ledger.md#invariants). Read only,
 * through the modules' faces.
 */
export async function checkLedger(
  ctx: Pick<Context, 'storage' | 'ledger' | 'orders' | 'settlement' | 'clock'>,
): Promise<{
  violations: Violation[];
  orders: number;
  payouts: number;
}> {
  const db = ctx.storage.db;
  const violations = await checkLedgerRules(db);
  const now = ctx.clock.now();
  let orders = 0;
  for (let after = ''; ; ) {
    const page = await ctx.orders.forAudit(db, after, PAGE);
    if (page.length === 0) break;
    const items = await ctx.settlement.itemsForAudit(page.map((p) => p.view.id));
    for (const { view, channelId } of page) {
      orders++;
      const transfers = await ctx.ledger.transfersOf(db, 'order', view.id);
      const problem =
        orderProblem(view, channelId, transfers) ?? settlementProblem(view, items.get(view.id), now);
      if (problem) violations.push({ rule: 'order_postings_wrong', subject: view.id, detail: problem });
    }
    after = page.at(-1)?.view.id ?? after;
  }
  let payouts = 0;
  for (let after = ''; ; ) {
    const page = await ctx.settlement.payoutsForAudit(after, PAGE);
    if (page.length === 0) break;
    for (const p of page) {
      payouts++;
      const problem = await payoutProblem(ctx, p);
      if (problem) violations.push({ rule: 'payout_entries_wrong', subject: p.id, detail: problem });
    }
    after = page.at(-1)?.id ?? after;
  }
  return { violations, orders, payouts };
}

/** Compares what is stored with what the flow books for the order, transfer by transfer. */
function orderProblem(view: OrderView, channelId: string, transfers: TransferRecord[]): string | undefined {
  const stored = new Map(transfers.map((t) => [t.id, t]));
  const hold = stored.get(`${view.id}:hold`);
  const money = orderMoneyOf(view, channelId);
  const expected = new Map<string, TransferInput>();
  if (BOOKED.has(view.status)) {
    if (!money) return `${view.status} without a price`;
    for (const t of redemption(money, hold?.amount).transfers) expected.set(t.id, t);
    if (hold && hold.pending_state !== 'posted')
      return `${view.status} but its escrow hold is ${hold.pending_state}`;
  } else if (hold) {
    const want = NOTHING_BOUGHT.has(view.status) ? 'voided' : 'pending';
    if (hold.pending_state !== want) return `${view.status} with its escrow hold ${hold.pending_state}`;
  }
  if (hold) expected.set(hold.id, { id: hold.id, kind: 'pending', code: hold.code });
  if (hold?.pending_state === 'voided')
    expected.set(`${view.id}:hold:void`, { id: `${view.id}:hold:void`, kind: 'void', code: 0 });
  for (const t of transfers)
    if (!expected.has(t.id)) return `${view.status} but booked ${t.id} (${t.kind} ${t.amount})`;
  for (const [id, want] of expected) {
    const got = stored.get(id);
    if (!got) return `${view.status} but ${id} is missing`;
    if (got.kind !== want.kind) return `${id} is ${got.kind}, not ${want.kind}`;
    if (want.amount !== undefined && got.amount !== want.amount)
      return `${id} is ${got.amount}, not ${want.amount}`;
    if (want.debit_account_id && got.debit_account_id !== want.debit_account_id)
      return `${id} debits the wrong account`;
    if (want.credit_account_id && got.credit_account_id !== want.credit_account_id)
      return `${id} credits the wrong account`;
  }
  return undefined;
}

type Item = { payout_id: string | null; paid_at: number | null; payout_status: string | null };

/** A settled order is owed (once its record is written); a paid one is in a paid payout. */
function settlementProblem(view: OrderView, item: Item | undefined, now: number): string | undefined {
  if (view.status === 'paid') {
    if (!item || item.paid_at === null) return 'paid but not recorded paid in settlement';
    if (item.payout_status !== 'paid')
      return `paid but its payout ${item.payout_id} is ${item.payout_status}`;
  }
  if (view.status === 'settled') {
    if (!item)
      return now - Date.parse(view.updated_at) > SETTLEMENT_LAG_MS
        ? 'settled but never taken into settlement'
        : undefined;
    if (item.paid_at !== null) return 'settled but recorded paid';
    if (item.payout_status === 'paid') return `settled but its payout ${item.payout_id} is paid`;
  }
  if (!BOOKED.has(view.status) && item) return `${view.status} but owed in settlement`;
  return undefined;
}

async function payoutProblem(
  ctx: Pick<Context, 'storage' | 'ledger' | 'settlement'>,
  p: Awaited<ReturnType<Context['settlement']['payoutsForAudit']>>[number],
): Promise<string | undefined> {
  const t = new Map((await ctx.ledger.transfersOf(ctx.storage.db, 'payout', p.id)).map((x) => [x.id, x]));
  const money = payoutMoneyOf(p);
  const want = p.status === 'paid' ? 'posted' : p.status === 'failed' ? 'voided' : 'pending';
  for (const h of payoutHold(money).transfers) {
    const got = t.get(h.id);
    if (!got || got.amount !== h.amount) return `no hold ${h.id} of ${h.amount} ${p.currency}`;
    if (got.debit_account_id !== h.debit_account_id || got.credit_account_id !== h.credit_account_id)
      return `${h.id} holds the wrong accounts`;
    if (got.pending_state !== want) return `payout ${p.status} but ${h.id} is ${got.pending_state}`;
  }
  if (p.status === 'paid') {
    for (const x of payoutPaid(money).transfers) {
      const got = t.get(x.id);
      if (!got) return `paid without ${x.id}`;
      if (x.amount !== undefined && got.amount !== x.amount)
        return `${x.id} is ${got.amount}, not ${x.amount}`;
      if (x.kind === 'post' && got.amount !== (x.id.includes(':fee') ? p.fee : p.amount))
        return `${x.id} posts ${got.amount}`;
      if (x.credit_account_id && got.credit_account_id !== x.credit_account_id)
        return `${x.id} credits the wrong account`;
    }
  } else if (t.has(`${p.id}:cash`)) return `${p.status} but money left clearing`;
  // Its orders add up to what it sent and kept (a failed payout gave its orders back).
  if (p.status !== 'failed') {
    const carried = await ctx.settlement.payoutItemTotal(p.id);
    if (carried.count !== p.order_count || carried.amount !== p.amount + p.fee)
      return `carries ${carried.count} orders worth ${carried.amount}, but is ${p.order_count} orders, ${p.amount} + fee ${p.fee}`;
  }
  return undefined;
}
