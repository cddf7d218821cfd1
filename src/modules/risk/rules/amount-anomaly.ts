import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/**
 * A face value more than `sigmas` standard deviations from the running mean of its card type and
 * channel, and not one of the type's usual values. Face values are discrete: among ¥50 and ¥100 phone
 * cards a ¥500 one is past 3σ, yet honest sellers hand them in every day; a value that makes up
 * `common_share` of the orders observed (and at least `common_min` of them) is a mode of the
 * distribution, not an outlier (docs/risk.md).
 */
export function amountAnomaly(p: RuleParams<'amount_anomaly'>, f: Facts): Firing | null {
  const m = f.amountMoments;
  if (!m || m.n < p.min_samples) return null;
  const sd = Math.sqrt(m.m2 / (m.n - 1));
  const off = Math.abs(f.faceValue - m.mean);
  // Every earlier order had one value: any other value is off the scale.
  if (sd === 0 ? off === 0 : off <= p.sigmas * sd) return null;
  const seen = f.faceSeen ?? 0;
  if (p.common_share > 0 && seen >= p.common_min && seen >= p.common_share * m.n) return null;
  const z = sd === 0 ? 'inf' : (off / sd).toFixed(1);
  return {
    decision: 'review',
    reasons: [
      `face value ${f.faceValue} is ${z}σ from the mean ${Math.round(m.mean)} of ${m.n} orders (limit ${p.sigmas}σ), ${seen} of them of this value`,
    ],
  };
}
