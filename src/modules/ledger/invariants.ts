import { sql } from 'kysely';
import type { Db } from '../../storage/database.js';
import { FLAG_BITS } from './accounts.js';
import { entryMoves } from './transfer.js';

/** One broken rule, with what shows it (docs/ledger.md#invariants). */
export interface Violation {
  rule:
    | 'currency_does_not_balance'
    | 'flagged_account_overdrawn'
    | 'balance_differs_from_transfers'
    | 'pending_resolved_twice'
    | 'pending_state_wrong'
    | 'post_exceeds_pending'
    | 'order_postings_wrong'
    | 'payout_entries_wrong';
  subject: string;
  detail: string;
}

const n = (v: unknown) => Number(v ?? 0);

/**
 * The ledger's own rules, checked from the stored rows with aggregates (so a ledger of millions of
 * transfers is checked without holding it in memory):
 * - per currency, debits equal credits, posted and pending (the balances sum to zero);
 * - no flagged account goes past its limit;
 * - every account's four totals equal what its transfers add up to;
 * - a pending transfer is resolved at most once, its state says how, and a post is at most its hold.
 */
export async function checkLedgerRules(db: Db): Promise<Violation[]> {
  const out: Violation[] = [];
  const sums = await db
    .selectFrom('ledger_accounts')
    .select([
      'currency',
      sql<string>`sum(debits_posted)`.as('dp'),
      sql<string>`sum(credits_posted)`.as('cp'),
      sql<string>`sum(debits_pending)`.as('dq'),
      sql<string>`sum(credits_pending)`.as('cq'),
    ])
    .groupBy('currency')
    .execute();
  for (const s of sums)
    if (n(s.dp) !== n(s.cp) || n(s.dq) !== n(s.cq))
      out.push({
        rule: 'currency_does_not_balance',
        subject: s.currency,
        detail: `posted debits ${s.dp} vs credits ${s.cp}; pending debits ${s.dq} vs credits ${s.cq}`,
      });

  const accounts = await db.selectFrom('ledger_accounts').selectAll().execute();
  for (const a of accounts) {
    if (
      a.flags & FLAG_BITS.debits_must_not_exceed_credits &&
      a.debits_posted + a.debits_pending > a.credits_posted
    )
      out.push({
        rule: 'flagged_account_overdrawn',
        subject: a.id,
        detail: `${a.kind} ${a.owner}: debits ${a.debits_posted}+${a.debits_pending} pending exceed credits ${a.credits_posted}`,
      });
    if (
      a.flags & FLAG_BITS.credits_must_not_exceed_debits &&
      a.credits_posted + a.credits_pending > a.debits_posted
    )
      out.push({
        rule: 'flagged_account_overdrawn',
        subject: a.id,
        detail: `${a.kind} ${a.owner}: credits ${a.credits_posted}+${a.credits_pending} pending exceed debits ${a.debits_posted}`,
      });
  }

  // What each account's totals should be, from its transfers: [debits_pending, debits_posted, credits_pending, credits_posted].
  const expected = new Map<string, [number, number, number, number]>();
  const moves = await db
    .selectFrom('ledger_transfers as t')
    .leftJoin('ledger_transfers as h', 'h.id', 't.pending_id')
    .select([
      't.debit_account_id as dr',
      't.credit_account_id as cr',
      't.kind',
      sql<string>`sum(t.amount)`.as('amount'),
      sql<string>`coalesce(sum(h.amount), 0)`.as('held'),
    ])
    .groupBy(['t.debit_account_id', 't.credit_account_id', 't.kind'])
    .execute();
  const add = (id: string, i: number, v: number) => {
    const e = expected.get(id) ?? [0, 0, 0, 0];
    e[i] = (e[i] as number) + v;
    expected.set(id, e);
  };
  for (const m of moves) {
    const move = entryMoves(m.kind, n(m.amount), n(m.held));
    add(m.dr, 0, move.pending);
    add(m.dr, 1, move.posted);
    add(m.cr, 2, move.pending);
    add(m.cr, 3, move.posted);
  }
  for (const a of accounts) {
    const e = expected.get(a.id) ?? [0, 0, 0, 0];
    const have = [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
    if (have.some((v, i) => v !== e[i]))
      out.push({
        rule: 'balance_differs_from_transfers',
        subject: a.id,
        detail: `${a.kind} ${a.owner}: stored ${have.join('/')} but transfers add up to ${e.join('/')}`,
      });
    expected.delete(a.id);
  }
  for (const id of expected.keys())
    out.push({
      rule: 'balance_differs_from_transfers',
      subject: id,
      detail: 'transfers name an account that does not exist',
    });

  const twice = await db
    .selectFrom('ledger_transfers')
    .select(['pending_id', sql<string>`count(*)`.as('n')])
    .where('pending_id', 'is not', null)
    .groupBy('pending_id')
    .having(sql`count(*)`, '>', 1)
    .execute();
  for (const t of twice)
    out.push({ rule: 'pending_resolved_twice', subject: String(t.pending_id), detail: `${t.n} resolutions` });

  const states = await db
    .selectFrom('ledger_transfers as h')
    .leftJoin('ledger_transfers as r', 'r.pending_id', 'h.id')
    .select(['h.id', 'h.pending_state', 'h.amount', 'r.kind as resolution', 'r.amount as resolved_amount'])
    .where('h.kind', '=', 'pending')
    .execute();
  const stateOf: Record<string, string> = { post: 'posted', void: 'voided', expire: 'expired' };
  for (const s of states) {
    const want = s.resolution ? stateOf[s.resolution] : 'pending';
    if (s.pending_state !== want)
      out.push({
        rule: 'pending_state_wrong',
        subject: s.id,
        detail: `state ${s.pending_state} but ${s.resolution ? `resolved by ${s.resolution}` : 'never resolved'}`,
      });
    if (s.resolution === 'post' && n(s.resolved_amount) > s.amount)
      out.push({
        rule: 'post_exceeds_pending',
        subject: s.id,
        detail: `posted ${s.resolved_amount} of ${s.amount}`,
      });
  }
  return out;
}
