import type { DestinationKind, PayoutAmount, PayoutAnswer, PayoutDestination } from './port.js';

/** Raw codes of payouts refused before anything is sent: nothing left, and nothing will under this id. */
export const PREFLIGHT_CODES = {
  kind: 'DESTINATION_KIND_UNSUPPORTED',
  currency: 'CURRENCY_UNSUPPORTED',
  amount: 'AMOUNT_INVALID',
  network: 'NETWORK_MISSING',
} as const;

/** A `failed` answer when this provider cannot take the payout at all; undefined when it may be sent. */
export function refuseBeforeSending(
  kind: DestinationKind,
  currency: string,
  destination: PayoutDestination,
  amount: PayoutAmount,
): PayoutAnswer | undefined {
  const failed = (rawCode: string): PayoutAnswer => ({ state: 'failed', rawCode });
  if (destination.kind !== kind) return failed(PREFLIGHT_CODES.kind);
  if (amount.currency !== currency) return failed(PREFLIGHT_CODES.currency);
  // Whole minor units only: a float amount is a bug upstream, never rounded here.
  if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0) return failed(PREFLIGHT_CODES.amount);
  if (kind === 'usdt' && !destination.network) return failed(PREFLIGHT_CODES.network);
  return undefined;
}
