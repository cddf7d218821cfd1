import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

const DAY_MS = 86_400_000;

/** An account younger than `max_age_days` handing in more than `amount`. */
export function newAccountHighValue(p: RuleParams<'new_account_high_value'>, f: Facts): Firing | null {
  if (f.accountAgeMs === undefined || f.accountAgeMs === null) return null;
  if (f.accountAgeMs >= p.max_age_days * DAY_MS || f.faceValue <= p.amount) return null;
  const days = (f.accountAgeMs / DAY_MS).toFixed(1);
  return {
    decision: 'review',
    reasons: [
      `account ${days} days old hands in ${f.faceValue} (limits ${p.max_age_days} days, ${p.amount})`,
    ],
  };
}
