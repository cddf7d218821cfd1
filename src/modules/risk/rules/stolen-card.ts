import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** The issuer reports the card stolen: freeze it (never redeem) and report. */
export function stolenCard(_p: RuleParams<'stolen_card'>, f: Facts): Firing | null {
  if (f.issuerReason !== 'card_reported_stolen') return null;
  return { decision: 'freeze', reasons: ['the issuer reports the card stolen'], report: 'stolen_card' };
}
