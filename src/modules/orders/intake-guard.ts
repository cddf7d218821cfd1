import type { Transaction } from 'kysely';
import type { Failure } from '../../shared/result.js';
import type { Database } from '../../storage/schema.js';

/**
 * Who a submission is about, as intake knows it once the card number is readable: the card by its
 * keyed hash (never the number), and the seller, device and end-user IP the channel gave.
 */
export interface IntakeSubjects {
  /** The card's keyed hash (the order's `card_hash`). */
  cardHash: string;
  /** The card type and masked number, for people. */
  cardLabel: string;
  channelId: string;
  sellerId: string;
  deviceId: string | null;
  clientIp: string | null;
}

export type IntakeRefusal = Failure<'card_locked' | 'too_many_wrong_secrets'>;

/**
 * Counts a try of a card and says whether intake may go on (lockouts implement it). `admit` is one
 * statement, run first in the intake unit; on a refusal intake writes nothing else.
 */
export interface IntakeGuard {
  admit(trx: Transaction<Database>, subjects: IntakeSubjects, nowMs: number): Promise<IntakeRefusal | null>;
  /**
   * The tries of many distinct cards (a batch slice), each at its own time, each answered as `admit`
   * would answer it one after the other, in a few statements whatever their number.
   */
  admitMany(
    trx: Transaction<Database>,
    tries: readonly { subjects: IntakeSubjects; nowMs: number }[],
  ): Promise<(IntakeRefusal | null)[]>;
}

/** What intake tells the risk engine about a new order (never the card number: its keyed hashes). */
export interface IntakeRiskInput {
  orderId: string;
  channelId: string;
  sellerId: string;
  cardType: string;
  /** The card's keyed hashes under every suite, the stored one first. */
  cardHashes: string[];
  /** The card type and masked number, for reports. */
  cardLabel: string;
  faceValue: number;
  currency: string;
  deviceId: string | null;
  clientIp: string | null;
  /** Where the seller is paid (a blockchain address), when the order names one. */
  destination: string | null;
  /** When the channel says the seller's account was opened. */
  userRegisteredAt: number | null;
  /** The batch file the order came in (null for a single order): velocity does not judge a file's lines. */
  batchId: string | null;
  /** The seller's phone for a step-up code, when the channel gives it; never stored in the clear. */
  sellerPhone: string | null;
}

/** What the risk engine makes of a new order: go on, or hold it (a person, a freeze, a refusal). */
export type IntakeRiskVerdict =
  | { action: 'allow' }
  | { action: 'review' | 'freeze' | 'reject'; reason: string };

/**
 * The risk engine's question at intake (risk implements it): asked in the intake unit after the
 * guard and the daily caps, before the order is written, so what it counts and records commits
 * with the order or not at all.
 */
export interface IntakeRisk {
  assessIntake(trx: Transaction<Database>, input: IntakeRiskInput, nowMs: number): Promise<IntakeRiskVerdict>;
  /**
   * Many orders of one batch slice, each at its own time, each judged as `assessIntake` would judge
   * them one after the other; what no order of the slice changes is read once for all of them.
   */
  assessIntakeMany(
    trx: Transaction<Database>,
    orders: readonly { input: IntakeRiskInput; nowMs: number }[],
  ): Promise<IntakeRiskVerdict[]>;
}
