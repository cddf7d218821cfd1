import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** More orders, or more amount, per seller, device, IP or payout destination than the window allows. */
export function velocity(p: RuleParams<'velocity'>, f: Facts): Firing | null {
  const reasons: string[] = [];
  for (const v of f.velocity ?? []) {
    if (!p.subjects.includes(v.subject)) continue;
    const limits = p[v.window];
    if (v.orders > limits.orders)
      reasons.push(`${v.subject} ${v.orders} orders per ${v.window} (limit ${limits.orders})`);
    if (v.amount > limits.amount)
      reasons.push(`${v.subject} amount ${v.amount} per ${v.window} (limit ${limits.amount})`);
  }
  return reasons.length > 0 ? { decision: 'review', reasons } : null;
}
