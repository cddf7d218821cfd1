import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** The structuring band: from `band_percent` below the limit up to just under it. */
export function inStructuringBand(p: RuleParams<'structuring'>, amount: number): boolean {
  return amount < p.limit && amount >= p.limit - Math.floor((p.limit * p.band_percent) / 100);
}

/** Many orders of one seller just under a limit: freeze and report. */
export function structuring(p: RuleParams<'structuring'>, f: Facts): Firing | null {
  if (f.structuringOrders === undefined || f.structuringOrders < p.orders) return null;
  return {
    decision: 'freeze',
    reasons: [`${f.structuringOrders} orders just under ${p.limit} (threshold ${p.orders})`],
    report: 'structuring',
  };
}
