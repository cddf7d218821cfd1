import { createHash } from 'node:crypto';

/**
 * The kinds of ledger account (docs/ledger.md#accounts). Each is kept per currency and, where it has
 * one, per owner (an issuer, a seller, a channel, a payout provider). `normal` is the side the
 * balance usually sits on: an asset is owed to us (debit), a liability is owed by us (credit).
 */
export const ACCOUNT_KINDS = {
  issuer_receivable: { normal: 'debit', owner: 'issuer', flags: ['credits_must_not_exceed_debits'] },
  seller_payable: { normal: 'credit', owner: 'seller', flags: ['debits_must_not_exceed_credits'] },
  channel_commission: { normal: 'credit', owner: 'channel', flags: ['debits_must_not_exceed_credits'] },
  margin: { normal: 'credit', owner: null, flags: [] },
  platform_funding: { normal: 'credit', owner: null, flags: [] },
  payout_clearing: { normal: 'credit', owner: 'provider', flags: ['debits_must_not_exceed_credits'] },
  provider_cash: { normal: 'debit', owner: 'provider', flags: [] },
  fees: { normal: 'credit', owner: null, flags: [] },
  fx_difference: { normal: 'credit', owner: null, flags: [] },
} as const satisfies Record<
  string,
  { normal: 'debit' | 'credit'; owner: string | null; flags: readonly Flag[] }
>;

export type AccountKind = keyof typeof ACCOUNT_KINDS;
export const ACCOUNT_KIND_NAMES = Object.keys(ACCOUNT_KINDS) as AccountKind[];

export type Flag = 'debits_must_not_exceed_credits' | 'credits_must_not_exceed_debits';
export const FLAG_BITS: Record<Flag, number> = {
  debits_must_not_exceed_credits: 1,
  credits_must_not_exceed_debits: 2,
};

export function flagBits(flags: readonly Flag[]): number {
  return flags.reduce((bits, f) => bits | FLAG_BITS[f], 0);
}

export function flagsOf(bits: number): Flag[] {
  return (Object.keys(FLAG_BITS) as Flag[]).filter((f) => (bits & FLAG_BITS[f]) !== 0);
}

/** What names one account: its kind, its currency and its owner ('' for the platform's own). */
export interface AccountKey {
  kind: AccountKind;
  currency: string;
  owner?: string;
}

/**
 * Account ids are derived from the key, so every process finds the same account without a lookup
 * and a race to create one ends in one row (decision 0023).
 */
const ids = new Map<string, string>();

export function accountId(key: AccountKey): string {
  const name = `${key.kind}\u0000${key.currency}\u0000${key.owner ?? ''}`;
  const known = ids.get(name);
  if (known) return known;
  const id = hashedId(key);
  // Bounded: a process may see any number of sellers.
  if (ids.size >= 100_000) ids.clear();
  ids.set(name, id);
  return id;
}

function hashedId(key: AccountKey): string {
  const digest = createHash('sha256')
    .update(`${key.kind}\u0000${key.currency}\u0000${key.owner ?? ''}`)
    .digest();
  let out = '';
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  for (let i = 0; i < 26; i++) out += alphabet.charAt((digest[i] as number) % 32);
  return `acc_${out}`;
}

/** The owner of a seller's accounts: sellers are named within their channel. */
export function sellerOwner(channelId: string, sellerId: string): string {
  return `${channelId}/${sellerId}`;
}
