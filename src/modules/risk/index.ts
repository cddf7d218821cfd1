/** Risk's face: the rule engine at intake and after the issuer answers, its admin API, and its counters. */
export { createRiskCounters, type RiskCounters } from './counters.js';
export { pruneRiskCounters } from './counters-db.js';
/** Fraud rings: links of sellers to devices, IPs and destinations, outcomes, rings. */
export {
  createLinkHasher,
  KNOWN_CAP,
  LINK_KINDS,
  type LinkHasher,
  type LinkInput,
  type LinkKind,
  type LinkSubject,
  type RecordedLink,
  type RecordLinks,
  recordLinks,
} from './links.js';
export { AssessmentView, type Decision, RULE_IDS, type RuleId } from './model.js';
export { countOutcome, RISK_OUTCOMES, riskOutcomesSubscriber } from './outcomes-subscriber.js';
export {
  PRUNE_RISK_COUNTERS,
  PRUNE_RISK_LINKS,
  pruneRiskCountersHandler,
  pruneRiskLinksHandler,
} from './prune-job.js';
export {
  computeRings,
  DEFAULT_MAX_SHARERS,
  DEFAULT_MIN_BAD_MEMBERS,
  type Ring,
  type RingOptions,
} from './rings.js';
export {
  COMPUTE_RINGS,
  flaggedRings,
  listRings,
  type RingsPayload,
  refreshRings,
  ringOfSeller,
  ringsJobHandler,
  ringsPayload,
  type StoredRing,
} from './rings-job.js';
export { riskRingRoutes } from './rings-routes.js';
export { riskAdminRoutes } from './routes.js';
export { createRiskService, type RiskService, type RiskVerdict } from './service.js';
export { createStepUps, SEND_STEP_UP, type StepUps } from './step-up.js';
export { stepUpRoutes } from './step-up-routes.js';
