import { type Money, shareAt, subtract } from '../../shared/money.js';

/**
 * How a face value is shared out (docs/architecture.md#money), pure:
 *   seller     = floor(face × rate / 10 000)
 *   commission = floor((face − seller) × commission / 10 000)   the channel's share of the margin
 *   margin     = face − seller − commission                     the platform's, rounding remainders included
 * so seller + commission + margin = face exactly, for every face and rate.
 */
export interface FaceSplit {
  seller: Money;
  commission: Money;
  margin: Money;
}

export function splitFace(face: Money, rateBps: number, commissionBps: number): FaceSplit {
  const seller = shareAt(face, rateBps);
  const gross = subtract(face, seller);
  const commission = shareAt(gross, commissionBps);
  return { seller, commission, margin: subtract(gross, commission) };
}

/** Bounds an automatic adjustment may not cross, in basis points of the rate. */
export interface AdjustmentBounds {
  floorBps: number;
  ceilingBps: number;
}

/**
 * The rate after an automatic lowering of `adjustmentBps`: never below the floor, never above the
 * ceiling, and never above the rate the tables say (an adjustment only ever lowers a price).
 */
export function adjustedRate(baseBps: number, adjustmentBps: number, bounds: AdjustmentBounds): number {
  if (adjustmentBps <= 0) return baseBps;
  const lowered = Math.min(Math.max(baseBps - adjustmentBps, bounds.floorBps), bounds.ceilingBps);
  return Math.min(baseBps, lowered);
}
