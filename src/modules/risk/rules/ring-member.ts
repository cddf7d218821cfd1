import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/**
 * A seller of a ring the rings job flagged (members linked by shared devices, IPs or destinations,
 * several of them with rejected or frozen orders): each of their orders goes to a reviewer, who sees
 * the ring and why its members are linked (GET /admin/v1/risk/sellers/{channel}/{seller}/ring).
 */
export function ringMember(_p: RuleParams<'ring_member'>, f: Facts): Firing | null {
  if (!f.ring) return null;
  return {
    decision: 'review',
    reasons: [
      `seller is in fraud ring ${f.ring.id} of ${f.ring.size} sellers, ${f.ring.badMembers} with rejected or frozen orders`,
    ],
  };
}
