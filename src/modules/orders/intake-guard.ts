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
}
