import type { Facts } from './facts.js';
import {
  type Decision,
  type FiredRule,
  type ReportKind,
  RULE_SPECS,
  type RuleSetting,
  STRENGTH,
  type Stage,
} from './model.js';
import { RULES } from './rules/index.js';

export interface Evaluation {
  /** The strongest decision of the enforced rules that fired (`allow` when none did). */
  decision: Decision;
  /** Every rule that fired, enforced or in shadow mode. */
  fired: FiredRule[];
  /** Reports the enforced rules ask for. */
  reports: ReportKind[];
  /** An enforced rule asks the seller for a step-up code. */
  stepUp: boolean;
}

/**
 * Runs the enabled rules of a stage over the facts, pure. A rule in shadow mode is recorded but
 * changes nothing: not the decision, nor a report, nor a step-up.
 */
export function evaluate(settings: readonly RuleSetting[], stage: Stage, facts: Facts): Evaluation {
  let decision: Decision = 'allow';
  const fired: FiredRule[] = [];
  const reports: ReportKind[] = [];
  let stepUp = false;
  for (const s of settings) {
    if (!s.enabled || RULE_SPECS[s.id].stage !== stage) continue;
    const rule = RULES[s.id] as (p: unknown, f: Facts) => ReturnType<(typeof RULES)[typeof s.id]>;
    const firing = rule(s.params, facts);
    if (!firing) continue;
    const shadow = s.mode === 'shadow';
    fired.push({ rule: s.id, ...firing, shadow });
    if (shadow) continue;
    if (STRENGTH[firing.decision] > STRENGTH[decision]) decision = firing.decision;
    if (firing.report && !reports.includes(firing.report)) reports.push(firing.report);
    if (firing.stepUp) stepUp = true;
  }
  return { decision, fired, reports, stepUp };
}
