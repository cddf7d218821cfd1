/** Risk's face: the rule engine at intake and after the issuer answers, its admin API, and its counters. */
export { createRiskCounters, type RiskCounters } from './counters.js';
export { pruneRiskCounters } from './counters-db.js';
export { AssessmentView, type Decision, RULE_IDS, type RuleId } from './model.js';
export { riskAdminRoutes } from './routes.js';
export { createRiskService, type RiskService, type RiskVerdict } from './service.js';
