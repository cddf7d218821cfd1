import type { BlacklistKind, VelocitySubject } from './model.js';

/** Running statistics (Welford): count, mean and sum of squared differences from the mean. */
export interface MomentsFact {
  n: number;
  mean: number;
  m2: number;
}

export interface Place {
  lat: number;
  lon: number;
  city: string | null;
}

/**
 * What the rules judge, gathered by the service before they run: the order, the card, the channel,
 * counters and the seller's history. Rules are pure functions of these; a fact a disabled rule
 * needs is not gathered (undefined).
 */
export interface Facts {
  orderId: string;
  channelId: string;
  sellerId: string;
  cardType: string;
  /** The face value judged: the declared one at intake, the issuer's after its answer. */
  faceValue: number;
  currency: string;
  nowMs: number;
  /** Checks of this card number within the lockout window, this one included (lockouts' counter). */
  cardChecks?: number;
  /** The subjects found on a blacklist. */
  blacklisted?: BlacklistKind[];
  /** Totals per subject and window after this order was counted. */
  velocity?: { subject: VelocitySubject; window: 'hour' | 'day'; orders: number; amount: number }[];
  /** Where the seller's IP is now, and where it was at the seller's last located order. */
  location?: { now: Place | null; before: (Place & { atMs: number }) | null };
  /** The running statistics of face values for this card type and channel, before this order. */
  amountMoments?: MomentsFact;
  /** Orders of this very face value among those statistics (about the same window), before this order. */
  faceSeen?: number;
  /** Whether the order's device is new to the seller, and how many devices the seller had before (counted for a new one only). */
  device?: { isNew: boolean; knownBefore: number | null } | null;
  /** How old the seller's account is (the channel's registration time, else when Recard first saw them). */
  accountAgeMs?: number | null;
  /** Orders in the structuring band within its window, this one included (0 when not in the band). */
  structuringOrders?: number;
  /** The flagged fraud ring the seller belongs to (risk/rings-job.ts), null when none. */
  ring?: { id: string; size: number; badMembers: number } | null;
  /** The issuer's reason for the card (issuer stage only). */
  issuerReason?: string | null;
}
