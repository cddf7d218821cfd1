import type { LedgerTransfersTable } from '../../storage/schema.js';
import { type Flag, flagsOf } from './accounts.js';

/**
 * How a batch of transfers applies to the accounts, pure (docs/ledger.md#transfers). The store reads
 * the accounts and transfers a batch touches, `plan` decides, and the store writes what it decided,
 * all in one transaction. Modelled on TigerBeetle's create_transfers.
 */
export const TRANSFER_KINDS = ['single', 'pending', 'post', 'void'] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];
/** `expire` is the ledger's own: a pending transfer whose timeout passed. */
export type EntryKind = TransferKind | 'expire';
export type PendingState = 'pending' | 'posted' | 'voided' | 'expired';

export interface TransferInput {
  /** Made by the caller, unique for ever: a retry with the same id is harmless. */
  id: string;
  kind: TransferKind;
  /** single and pending: required. post and void: taken from the pending transfer (must match if given). */
  debit_account_id?: string;
  credit_account_id?: string;
  /** single and pending: required. post: up to the pending amount (absent: all of it). void: all of it. */
  amount?: number;
  currency?: string;
  /** What the transfer is for (docs/ledger.md#codes). */
  code: number;
  /** post and void: the pending transfer resolved. */
  pending_id?: string;
  /** pending only: seconds after which the hold is released by itself. */
  timeout_s?: number;
  /** What caused it (an order, a payout), for statements and checks. */
  ref_type?: string;
  ref_id?: string;
}

export interface AccountState {
  id: string;
  currency: string;
  flags: number;
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
}

/** A transfer as stored. */
export type TransferRecord = Omit<LedgerTransfersTable, 'entry'>;

export const TRANSFER_RESULTS = [
  'created',
  'exists',
  'exists_with_different_fields',
  'linked_event_failed',
  'id_invalid',
  'amount_invalid',
  'code_invalid',
  'accounts_must_be_different',
  'debit_account_not_found',
  'credit_account_not_found',
  'currency_mismatch',
  'pending_id_required',
  'pending_id_must_be_absent',
  'timeout_reserved_for_pending',
  'timeout_invalid',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'pending_transfer_has_different_accounts',
  'exceeds_pending_transfer_amount',
  'pending_amount_mismatch',
  'exceeds_credits',
  'exceeds_debits',
] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

/** What a plan changes: new rows, balance deltas per account, pending transfers resolved. */
export interface Plan {
  results: TransferResult[];
  rows: TransferRecord[];
  deltas: Map<string, Omit<AccountState, 'id' | 'currency' | 'flags'>>;
  resolved: Map<string, PendingState>;
}

export interface PlanInput {
  inputs: readonly TransferInput[];
  linked: boolean;
  accounts: ReadonlyMap<string, AccountState>;
  /** Every stored transfer whose id is in the batch, and every pending transfer it names. */
  transfers: ReadonlyMap<string, TransferRecord>;
  nowMs: number;
}

const ID_PATTERN = /^[\x21-\x7e]{1,120}$/;
const MAX_TIMEOUT_S = 366 * 24 * 3600;

const isAmount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;

/** Whether a repeated input says the same as the stored transfer. */
function sameFields(input: TransferInput, stored: TransferRecord): boolean {
  if (input.kind !== stored.kind) return false;
  if (input.code !== stored.code) return false;
  if ((input.pending_id ?? null) !== stored.pending_id) return false;
  if ((input.ref_type ?? null) !== stored.ref_type || (input.ref_id ?? null) !== stored.ref_id) return false;
  if (input.debit_account_id !== undefined && input.debit_account_id !== stored.debit_account_id)
    return false;
  if (input.credit_account_id !== undefined && input.credit_account_id !== stored.credit_account_id)
    return false;
  if (input.amount !== undefined && input.amount !== stored.amount) return false;
  if (input.currency !== undefined && input.currency !== stored.currency) return false;
  if ((input.timeout_s ?? null) !== stored.timeout_s) return false;
  return true;
}

function exceeds(a: AccountState, flag: Flag): boolean {
  if (flag === 'debits_must_not_exceed_credits') return a.debits_pending + a.debits_posted > a.credits_posted;
  return a.credits_pending + a.credits_posted > a.debits_posted;
}

/** Decides a batch. Linked: all or none, and the others of a failed batch say `linked_event_failed`. */
export function plan(p: PlanInput): Plan {
  const accounts = new Map<string, AccountState>();
  for (const [id, a] of p.accounts) accounts.set(id, { ...a });
  const transfers = new Map(p.transfers);
  const resolved = new Map<string, PendingState>();
  const rows: TransferRecord[] = [];
  const results: TransferResult[] = [];

  for (const input of p.inputs) {
    const r = applyOne(input);
    results.push(r);
    if (p.linked && r !== 'created' && r !== 'exists') {
      const failed = results.map((x) => (x === 'created' || x === 'exists' ? 'linked_event_failed' : x));
      while (failed.length < p.inputs.length) failed.push('linked_event_failed');
      return { results: failed, rows: [], deltas: new Map(), resolved: new Map() };
    }
  }
  const deltas = new Map<string, Omit<AccountState, 'id' | 'currency' | 'flags'>>();
  for (const [id, after] of accounts) {
    const before = p.accounts.get(id) as AccountState;
    const d = {
      debits_pending: after.debits_pending - before.debits_pending,
      debits_posted: after.debits_posted - before.debits_posted,
      credits_pending: after.credits_pending - before.credits_pending,
      credits_posted: after.credits_posted - before.credits_posted,
    };
    if (d.debits_pending || d.debits_posted || d.credits_pending || d.credits_posted) deltas.set(id, d);
  }
  return { results, rows, deltas, resolved };

  function applyOne(t: TransferInput): TransferResult {
    if (typeof t.id !== 'string' || !ID_PATTERN.test(t.id)) return 'id_invalid';
    const existing = transfers.get(t.id);
    if (existing) return sameFields(t, existing) ? 'exists' : 'exists_with_different_fields';
    if (!Number.isInteger(t.code) || t.code < 1 || t.code > 65_535) return 'code_invalid';
    if (t.kind === 'single' || t.kind === 'pending') return applyNew(t);
    return applyResolution(t);
  }

  function applyNew(t: TransferInput): TransferResult {
    if (t.pending_id !== undefined) return 'pending_id_must_be_absent';
    if (t.kind === 'single' && t.timeout_s !== undefined) return 'timeout_reserved_for_pending';
    if (
      t.timeout_s !== undefined &&
      (!Number.isInteger(t.timeout_s) || t.timeout_s < 1 || t.timeout_s > MAX_TIMEOUT_S)
    )
      return 'timeout_invalid';
    if (!isAmount(t.amount)) return 'amount_invalid';
    if (t.debit_account_id === t.credit_account_id) return 'accounts_must_be_different';
    const dr = t.debit_account_id === undefined ? undefined : accounts.get(t.debit_account_id);
    if (!dr) return 'debit_account_not_found';
    const cr = t.credit_account_id === undefined ? undefined : accounts.get(t.credit_account_id);
    if (!cr) return 'credit_account_not_found';
    const currency = t.currency ?? dr.currency;
    if (dr.currency !== currency || cr.currency !== currency) return 'currency_mismatch';
    const amount = t.amount;
    const pending = t.kind === 'pending';
    const next = { dr: { ...dr }, cr: { ...cr } };
    if (pending) {
      next.dr.debits_pending += amount;
      next.cr.credits_pending += amount;
    } else {
      next.dr.debits_posted += amount;
      next.cr.credits_posted += amount;
    }
    const bad = checkFlags(next.dr, next.cr);
    if (bad) return bad;
    accounts.set(dr.id, next.dr);
    accounts.set(cr.id, next.cr);
    record({
      id: t.id,
      kind: t.kind,
      debit_account_id: dr.id,
      credit_account_id: cr.id,
      amount,
      currency,
      code: t.code,
      pending_id: null,
      timeout_s: t.timeout_s ?? null,
      expires_at: pending && t.timeout_s !== undefined ? p.nowMs + t.timeout_s * 1000 : null,
      pending_state: pending ? 'pending' : null,
      ref_type: t.ref_type ?? null,
      ref_id: t.ref_id ?? null,
      created_at: p.nowMs,
    });
    return 'created';
  }

  function applyResolution(t: TransferInput): TransferResult {
    if (t.pending_id === undefined) return 'pending_id_required';
    if (t.timeout_s !== undefined) return 'timeout_reserved_for_pending';
    const held = transfers.get(t.pending_id);
    if (!held) return 'pending_transfer_not_found';
    if (held.kind !== 'pending') return 'pending_transfer_not_pending';
    const state = resolved.get(held.id) ?? held.pending_state;
    if (state === 'posted') return 'pending_transfer_already_posted';
    if (state === 'voided') return 'pending_transfer_already_voided';
    if (state === 'expired' || (held.expires_at !== null && p.nowMs >= held.expires_at))
      return 'pending_transfer_expired';
    if (
      (t.debit_account_id !== undefined && t.debit_account_id !== held.debit_account_id) ||
      (t.credit_account_id !== undefined && t.credit_account_id !== held.credit_account_id)
    )
      return 'pending_transfer_has_different_accounts';
    if (t.currency !== undefined && t.currency !== held.currency) return 'currency_mismatch';
    let amount = held.amount;
    if (t.kind === 'post' && t.amount !== undefined) {
      if (!isAmount(t.amount)) return 'amount_invalid';
      if (t.amount > held.amount) return 'exceeds_pending_transfer_amount';
      amount = t.amount;
    }
    if (t.kind === 'void' && t.amount !== undefined && t.amount !== held.amount)
      return 'pending_amount_mismatch';
    const dr = { ...(accounts.get(held.debit_account_id) as AccountState) };
    const cr = { ...(accounts.get(held.credit_account_id) as AccountState) };
    dr.debits_pending -= held.amount;
    cr.credits_pending -= held.amount;
    if (t.kind === 'post') {
      dr.debits_posted += amount;
      cr.credits_posted += amount;
    }
    // Releasing a hold never breaks a limit; posting less than it held never does either.
    accounts.set(dr.id, dr);
    accounts.set(cr.id, cr);
    resolved.set(held.id, t.kind === 'post' ? 'posted' : 'voided');
    record({
      id: t.id,
      kind: t.kind,
      debit_account_id: held.debit_account_id,
      credit_account_id: held.credit_account_id,
      amount,
      currency: held.currency,
      code: t.code,
      pending_id: held.id,
      timeout_s: null,
      expires_at: null,
      pending_state: null,
      ref_type: t.ref_type ?? null,
      ref_id: t.ref_id ?? null,
      created_at: p.nowMs,
    });
    return 'created';
  }

  function checkFlags(dr: AccountState, cr: AccountState): TransferResult | undefined {
    for (const f of flagsOf(dr.flags))
      if (f === 'debits_must_not_exceed_credits' && exceeds(dr, f)) return 'exceeds_credits';
    for (const f of flagsOf(cr.flags))
      if (f === 'credits_must_not_exceed_debits' && exceeds(cr, f)) return 'exceeds_debits';
    return undefined;
  }

  function record(row: TransferRecord) {
    rows.push(row);
    transfers.set(row.id, row);
  }
}

/** The expiry of a pending transfer whose timeout passed: it releases the hold like a void. */
export function expiryOf(held: TransferRecord, nowMs: number): TransferRecord {
  return {
    ...held,
    id: `${held.id}:expired`,
    kind: 'expire',
    pending_id: held.id,
    timeout_s: null,
    expires_at: null,
    pending_state: null,
    created_at: nowMs,
  };
}

/**
 * How an entry moves its accounts' posted and pending amounts (`held`: the amount of the pending
 * transfer a post, void or expiry resolves). Statements and the invariant check both read it.
 */
export function entryMoves(kind: string, amount: number, held: number): { posted: number; pending: number } {
  if (kind === 'single') return { posted: amount, pending: 0 };
  if (kind === 'pending') return { posted: 0, pending: amount };
  if (kind === 'post') return { posted: amount, pending: -held };
  return { posted: 0, pending: -held }; // void, expire
}
