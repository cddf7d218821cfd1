/**
 * The bank's file formats (docs/payouts.md#bank-file), shared by the adapter and the simulator.
 * Outgoing: `reference,card_number,holder_name,amount,currency` (amount in fen). Return:
 * `reference,status,bank_ref,reason` with status PAID or REJECTED.
 */
export const OUTGOING_HEADER = ['reference', 'card_number', 'holder_name', 'amount', 'currency'] as const;
export const RETURN_HEADER = ['reference', 'status', 'bank_ref', 'reason'] as const;
export const FILE_NAME = /^[A-Za-z0-9_-]{1,100}$/;
/** One payout, one outgoing file named after it: a re-upload after an unknown outcome is harmless. */
export const outgoingName = (payoutId: string) => `payout-${payoutId}`;
