/**
 * What a simulated payout provider actually paid: the evidence drills read to prove "zero
 * duplicates at the provider". `pay` refuses a second entry for one payout id whatever called it,
 * so a duplicate can only show as a counted attempt, never as money.
 */
export interface PaidEntry {
  payoutId: string;
  amount: number;
  currency: string;
  account: string;
  /** The provider's reference for it. */
  providerRef: string;
  at: number;
}

export interface LedgerView {
  paid: PaidEntry[];
  /** Pay requests that reached the provider's logic, per payout id (retries, duplicates). */
  payCalls: Record<string, number>;
  /** Attempts to pay an id already paid; the ledger refused each (always 0 for a correct simulator). */
  refusedDoubles: number;
  /**
   * Pay requests that arrived for an id this provider had already paid: the caller sent again what
   * had gone through. A caller that asks (lookup) before it resends never does this.
   */
  payRequestsAfterPaid: number;
}

export class PayoutLedger {
  private readonly entries = new Map<string, PaidEntry>();
  private readonly calls = new Map<string, number>();
  private doubles = 0;
  private afterPaid = 0;

  /** Counts one pay request for this id (and whether it came after the id was paid). */
  called(payoutId: string): void {
    this.calls.set(payoutId, (this.calls.get(payoutId) ?? 0) + 1);
    if (this.entries.has(payoutId)) this.afterPaid++;
  }

  /** Pay requests for ids already paid when they arrived. */
  requestsAfterPaid(): number {
    return this.afterPaid;
  }

  /** Pays once: a second entry for the same id is refused and counted, and the first one kept. */
  pay(entry: Omit<PaidEntry, 'at'>): PaidEntry {
    const earlier = this.entries.get(entry.payoutId);
    if (earlier) {
      this.doubles++;
      return earlier;
    }
    const e = { ...entry, at: Date.now() };
    this.entries.set(entry.payoutId, e);
    return e;
  }

  get(payoutId: string): PaidEntry | undefined {
    return this.entries.get(payoutId);
  }

  paid(): PaidEntry[] {
    return [...this.entries.values()];
  }

  payCalls(): Record<string, number> {
    return Object.fromEntries(this.calls);
  }

  view(): LedgerView {
    return {
      paid: this.paid(),
      payCalls: this.payCalls(),
      refusedDoubles: this.doubles,
      payRequestsAfterPaid: this.afterPaid,
    };
  }
}
