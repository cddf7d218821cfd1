import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** A seller on a device never seen with the account (a seller's first device is not a mismatch). */
export function deviceMismatch(_p: RuleParams<'device_mismatch'>, f: Facts): Firing | null {
  if (!f.device?.isNew || !f.device.knownBefore) return null;
  return {
    decision: 'review',
    reasons: [`a device not seen before with this seller (${f.device.knownBefore} known)`],
  };
}
