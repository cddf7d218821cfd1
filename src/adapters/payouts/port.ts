/**
 * The one port every payout provider sits behind (docs/payouts.md). An adapter speaks one provider's
 * protocol and reports what the provider said; the payouts module decides what to do with it.
 *
 * The payout id is the idempotency key at the provider (Alipay `out_biz_no`, WeChat `out_bill_no`,
 * the bank file's reference, the USDT transfer's memo): the same id sent twice pays once.
 */

export const DESTINATION_KINDS = ['alipay', 'wechat', 'bank_card', 'usdt'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** Where the money goes, as the provider needs it. `holderName` is the seller's verified name. */
export interface PayoutDestination {
  kind: DestinationKind;
  /** Alipay account (phone or e-mail), WeChat openid, bank card number, or USDT address. */
  account: string;
  holderName: string;
  /** USDT only: `trc20` or `erc20`. */
  network?: 'trc20' | 'erc20';
}

/** Minor units of `currency` (CNY fen, USDT 10⁻⁶). */
export interface PayoutAmount {
  amount: number;
  currency: string;
}

/**
 * What the provider said about one payout.
 * - `accepted`: taken, not final yet (ask again with `lookup`, or wait for the notification);
 * - `paid`: the money reached the destination;
 * - `failed`: the provider refused or gave up; nothing was paid, and nothing will be under this id;
 * - `unknown`: no usable answer (timeout, reset, 5xx, garbled): it may or may not have been paid.
 *   Settle it with `lookup`; resend only with the same payout id.
 * `lookup` may also answer `not_found`: the provider never took this id, so sending it again is safe.
 */
export type PayoutState = 'accepted' | 'paid' | 'failed' | 'unknown';
export type LookupState = PayoutState | 'not_found';

export interface PayoutAnswer<S extends string = PayoutState> {
  state: S;
  /** The provider's own reference (trade no, bill no, tx hash), once it has one. */
  providerRef?: string;
  /** The provider's own code, for people and the mapping; never parsed. */
  rawCode?: string;
  rawMessage?: string;
  /** USDT: confirmations counted so far. */
  confirmations?: number;
}

export interface PayoutProvider {
  /** Stable provider name, e.g. `alipay`; names its payout clearing account. */
  readonly name: string;
  readonly kinds: readonly DestinationKind[];
  pay(
    payoutId: string,
    destination: PayoutDestination,
    amount: PayoutAmount,
    signal?: AbortSignal,
  ): Promise<PayoutAnswer>;
  lookup(payoutId: string, signal?: AbortSignal): Promise<PayoutAnswer<LookupState>>;
}
