import { checkLedgerRules, type TransferRecord, type Violation } from '../modules/ledger/index.js';
import type { Context } from './context.js';

const PAGE = 1_000;
const BOOKED = new Set(['settled', 'paid']);
const NOTHING_BOUGHT = new Set(['invalid', 'failed', 'rejected']);

/**
 * `recard ledger check`: the ledger's own invariants, and that the flow's records and the ledger
 * agree — every order in `redeemed` or later has exactly its postings, every payout its clearing
 * entries (docs/ledger.md#invariants). Read only, through the modules' faces.
 */
export async function checkLedger(
  ctx: Pick<Context, 'storage' | 'ledger' | 'orders' | 'settlement'>,
): Promise<{
  violations: Violation[];
  orders: number;
  payouts: number;
}> {
  const db = ctx.storage.db;
  const violations = await checkLedgerRules(db);
  let orders = 0;
  for (let after = ''; ; ) {
    const page = await ctx.orders.forAudit(db, after, PAGE);
    if (page.length === 0) break;
    for (const { view } of page) {
      orders++;
      const transfers = await ctx.ledger.transfersOf(db, 'order', view.id);
      const problem = orderProblem(view.status, view.price?.payout_amount ?? null, transfers, view.price);
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
      const t = new Map((await ctx.ledger.transfersOf(db, 'payout', p.id)).map((x) => [x.id, x]));
      const hold = t.get(`${p.id}:amount`);
      const want = p.status === 'paid' ? 'posted' : p.status === 'failed' ? 'voided' : 'pending';
      let problem: string | undefined;
      if (!hold || hold.amount !== p.amount) problem = `no hold of ${p.amount} ${p.currency}`;
      else if (hold.pending_state !== want)
        problem = `payout ${p.status} but its hold is ${hold.pending_state}`;
      else if (p.status === 'paid' && t.get(`${p.id}:cash`)?.amount !== p.amount)
        problem = 'paid without its clearing → provider cash entry';
      else if (p.status !== 'paid' && t.has(`${p.id}:cash`)) problem = `${p.status} but money left clearing`;
      else if (p.fee > 0 && t.get(`${p.id}:fee`)?.pending_state !== want) problem = `fee hold is not ${want}`;
      if (problem) violations.push({ rule: 'payout_entries_wrong', subject: p.id, detail: problem });
    }
    after = page.at(-1)?.id ?? after;
  }
  return { violations, orders, payouts };
}

function orderProblem(
  status: string,
  payout: number | null,
  transfers: TransferRecord[],
  price: {
    face_value: number;
    seller_amount: number;
    commission_amount: number;
    payout_amount: number;
  } | null,
): string | undefined {
  const byId = new Map(transfers.map((t) => [t.id, t]));
  const posted = transfers.filter((t) => t.kind === 'single' || t.kind === 'post');
  const hold = [...byId.values()].find((t) => t.kind === 'pending');
  if (BOOKED.has(status)) {
    if (!price) return `${status} without a price`;
    const sellerLeg = posted.find((t) => t.id.endsWith(':seller'));
    if (!sellerLeg) return `${status} but the seller was never credited`;
    // Every posting of the order: the seller leg (P, or X after FX), commission C, margin F−P−C, and FX out P.
    const sum = (suffix: string) =>
      posted.filter((t) => t.id.endsWith(suffix)).reduce((a, t) => a + t.amount, 0);
    const fx = posted.some((t) => t.id.endsWith(':fx_out'));
    if (sum(':seller') !== (fx ? price.payout_amount : price.seller_amount))
      return `seller leg ${sum(':seller')} ≠ price`;
    if (sum(':commission') !== price.commission_amount)
      return `commission ${sum(':commission')} ≠ ${price.commission_amount}`;
    const margin = price.face_value - price.seller_amount - price.commission_amount;
    if (sum(':margin') !== margin) return `margin ${sum(':margin')} ≠ ${margin}`;
    if (fx && sum(':fx_out') !== price.seller_amount)
      return `FX leg ${sum(':fx_out')} ≠ ${price.seller_amount}`;
    if (hold && hold.pending_state !== 'posted') return `escrow hold is ${hold.pending_state}, not posted`;
    if (hold && sum(':hold:post') + sum(':hold:top_up') !== payout)
      return 'escrow hold posted for another amount';
    return undefined;
  }
  if (posted.some((t) => !t.id.endsWith(':hold:post')))
    return `${status} but booked (${posted.map((t) => t.id).join(', ')})`;
  if (NOTHING_BOUGHT.has(status) && hold && hold.pending_state !== 'voided')
    return `${status} but its escrow hold is ${hold.pending_state}`;
  if (!NOTHING_BOUGHT.has(status) && hold && hold.pending_state !== 'pending' && status !== 'redeemed')
    return `${status} with its escrow hold ${hold.pending_state}`;
  return undefined;
}
