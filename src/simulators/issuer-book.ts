import type { SimCard } from './card-base.js';

/**
 * One simulated issuer's ledger of cards and redemptions, protocol-free. The protocol servers turn
 * its answers into SOAP, JSON-RPC, REST or files. It also counts what a careless client would do
 * wrong (a second redeem of a consumed card, a redemption id reused), so tests can assert it never
 * happened.
 */

export type BookCode = 'ok' | 'not_found' | 'wrong_secret' | 'used' | 'expired' | 'unactivated';

export interface BookRedemption {
  redemptionId: string;
  number: string;
  amount: number;
  at: number;
}

export interface BookStats {
  inquiries: number;
  redeemRequests: number;
  lookups: number;
  /** Cards consumed by a redeem. */
  redeemed: number;
  /** Redeem requests for a card this issuer had already consumed: a client that re-sent blindly. */
  redeemsOfConsumedCard: number;
  /** Redeem requests repeating a redemption id that had already consumed a card. */
  repeatedRedemptionIds: number;
}

interface Entry {
  card: SimCard;
  state: SimCard['state'];
  balance: number;
  /** The redemption that consumed it, when this issuer did. */
  consumedBy: string | null;
}

export class IssuerBook {
  private readonly cards = new Map<string, Entry>();
  private readonly redemptions = new Map<string, BookRedemption>();
  readonly stats: BookStats = {
    inquiries: 0,
    redeemRequests: 0,
    lookups: 0,
    redeemed: 0,
    redeemsOfConsumedCard: 0,
    repeatedRedemptionIds: 0,
  };

  constructor(
    readonly issuer: string,
    cards: SimCard[],
    private readonly now: () => number = Date.now,
  ) {
    for (const card of cards)
      this.cards.set(card.number, { card, state: card.state, balance: card.balance, consumedBy: null });
  }

  get size(): number {
    return this.cards.size;
  }

  /** Checks a card as an inquiry does; no state changes. */
  inquire(number: string, secret: string): { code: BookCode; card?: SimCard; balance?: number } {
    this.stats.inquiries++;
    return this.check(number, secret);
  }

  private check(number: string, secret: string): { code: BookCode; card?: SimCard; balance?: number } {
    const entry = this.cards.get(number);
    if (!entry) return { code: 'not_found' };
    const out = { card: entry.card, balance: entry.balance };
    if (entry.card.secret !== secret) return { code: 'wrong_secret', ...out };
    if (entry.state !== 'valid') return { code: entry.state, ...out };
    return { code: 'ok', ...out };
  }

  /**
   * Consumes a card. A redemption id that already consumed this card answers as the first time did
   * (issuers that take an idempotency key behave so), but is counted: Recard should never need it.
   */
  redeem(number: string, secret: string, redemptionId: string): { code: BookCode; amount?: number } {
    this.stats.redeemRequests++;
    const earlier = this.redemptions.get(redemptionId);
    if (earlier) {
      this.stats.repeatedRedemptionIds++;
      if (earlier.number === number) return { code: 'ok', amount: earlier.amount };
    }
    const entry = this.cards.get(number);
    if (entry?.consumedBy) this.stats.redeemsOfConsumedCard++;
    const checked = this.check(number, secret);
    if (checked.code !== 'ok' || !entry) return { code: checked.code };
    const amount = entry.balance;
    entry.state = 'used';
    entry.balance = 0;
    entry.consumedBy = redemptionId;
    this.redemptions.set(redemptionId, { redemptionId, number, amount, at: this.now() });
    this.stats.redeemed++;
    return { code: 'ok', amount };
  }

  lookup(redemptionId: string): BookRedemption | undefined {
    this.stats.lookups++;
    return this.redemptions.get(redemptionId);
  }

  /** Every card's current state, for the batch-file issuer's state file. */
  *states(): Generator<{
    card: SimCard;
    state: SimCard['state'];
    balance: number;
    consumedBy: string | null;
  }> {
    for (const e of this.cards.values())
      yield { card: e.card, state: e.state, balance: e.balance, consumedBy: e.consumedBy };
  }

  /** How many redemptions consumed each card (must never exceed 1). */
  redemptionsPerCard(): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.redemptions.values()) out.set(r.number, (out.get(r.number) ?? 0) + 1);
    return out;
  }
}
