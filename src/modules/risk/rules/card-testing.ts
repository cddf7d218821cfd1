import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** The same card number checked `checks` times within the lockout window: freeze it (lockouts lock it 24 h). */
export function cardTesting(p: RuleParams<'card_testing'>, f: Facts): Firing | null {
  if (f.cardChecks === undefined || f.cardChecks < p.checks) return null;
  return { decision: 'freeze', reasons: [`card checked ${f.cardChecks} times (threshold ${p.checks})`] };
}
