import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** A blacklisted card, seller, device, IP or payout destination rejects the order; a card is reported too. */
export function blacklist(p: RuleParams<'blacklist'>, f: Facts): Firing | null {
  const hits = (f.blacklisted ?? []).filter((k) => p.kinds.includes(k));
  if (hits.length === 0) return null;
  return {
    decision: 'reject',
    reasons: hits.map((k) => `${k} is blacklisted`),
    ...(hits.includes('card') ? { report: 'blacklisted_card' as const } : {}),
  };
}
