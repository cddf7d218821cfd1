/** The issuer gateway's face: routing, code tables, the verify worker and its sweeper. */
export { CodeBook } from './code-book.js';
export { isRedeemState, REDEEM_STATES, type RedeemState } from './lifecycle.js';
export { SWEEP_VERIFYING, VERIFY_REASONS, type VerifyReason } from './model.js';
export type { RedeemGate, RedeemGateInput, RedeemGateVerdict } from './redeem-gate.js';
export { IssuerRouter, NoRouteError } from './router.js';
export { issuerAdminRoutes } from './routes.js';
export { createIssuerAdminService, type IssuerAdminService } from './service.js';
export { sweepVerifyingHandler } from './sweeper.js';
export { verifyOrderHandler } from './worker.js';
