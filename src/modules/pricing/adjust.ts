/**
 * Automatic rate adjustment, pure (docs/pricing.md): when an issuer's recent failure or review rate
 * crosses a threshold the card type's rate is lowered by a fixed step, within the policy's floor and
 * ceiling; when it falls back, or the policy is switched off, the lowering is lifted.
 */
export interface AdjustmentPolicy {
  enabled: boolean;
  /** How far back outcomes are counted. */
  windowS: number;
  /** Fewer verification outcomes than this in the window: not enough to judge, no lowering. */
  minOrders: number;
  /** Thresholds in basis points of the outcomes (2 000 = 20 %). */
  failureRateBps: number;
  reviewRateBps: number;
  /** How much the rate is lowered while a threshold is crossed. */
  stepBps: number;
  floorBps: number;
  ceilingBps: number;
}

/** Verification outcomes of one issuer in the window. */
export interface OutcomeCounts {
  total: number;
  failed: number;
  review: number;
}

export interface AdjustmentChange {
  adjustmentBps: number;
  reason: string;
}

const percent = (bps: number) => `${(bps / 100).toFixed(1)}%`;

/** The change to make, or null when the adjustment in force is still right. */
export function decideAdjustment(
  policy: AdjustmentPolicy,
  counts: OutcomeCounts,
  currentBps: number,
): AdjustmentChange | null {
  const target = targetOf(policy, counts);
  return target.adjustmentBps === currentBps ? null : target;
}

function targetOf(policy: AdjustmentPolicy, c: OutcomeCounts): AdjustmentChange {
  if (!policy.enabled) return { adjustmentBps: 0, reason: 'automatic adjustment switched off' };
  const window = `in the last ${policy.windowS} s`;
  if (c.total < policy.minOrders)
    return {
      adjustmentBps: 0,
      reason: `${c.total} verification outcomes ${window}, fewer than the ${policy.minOrders} needed to judge`,
    };
  const failureBps = Math.floor((c.failed * 10_000) / c.total);
  const reviewBps = Math.floor((c.review * 10_000) / c.total);
  const crossed: string[] = [];
  if (failureBps >= policy.failureRateBps)
    crossed.push(`failure rate ${percent(failureBps)} ≥ ${percent(policy.failureRateBps)}`);
  if (reviewBps >= policy.reviewRateBps)
    crossed.push(`review rate ${percent(reviewBps)} ≥ ${percent(policy.reviewRateBps)}`);
  if (crossed.length > 0)
    return {
      adjustmentBps: policy.stepBps,
      reason: `${crossed.join(' and ')} ${window} (${c.total} outcomes): rate lowered by ${policy.stepBps} bps`,
    };
  return {
    adjustmentBps: 0,
    reason: `failure rate ${percent(failureBps)} and review rate ${percent(reviewBps)} ${window} (${c.total} outcomes) are under the thresholds`,
  };
}
