import type { Transaction } from 'kysely';
import type { Database } from '../../storage/schema.js';

/** What verification tells the risk engine once the issuer has answered, before the card is redeemed. */
export interface RedeemGateInput {
  orderId: string;
  channelId: string;
  sellerId: string;
  cardType: string;
  /** The face value the issuer reports (the declared one when it says none). */
  faceValue: number;
  currency: string;
  /** The issuer's answer as a reason (`card_reported_stolen`, …), or null when the card is fine. */
  issuerReason: string | null;
}

export type RedeemGateVerdict =
  | { action: 'allow' }
  | { action: 'review' | 'freeze' | 'reject'; reason: string };

/**
 * The risk engine's second look (risk implements it): asked after the inquiry and before the
 * redeem. `record` writes what fired in the unit that moves the order (null when nothing fired).
 */
export interface RedeemGate {
  afterIssuer(input: RedeemGateInput): Promise<{
    verdict: RedeemGateVerdict;
    record: ((trx: Transaction<Database>) => Promise<void>) | null;
  }>;
}
