import type { AdminRole } from '../modules/admins/index.js';

/**
 * Who may call each admin operation, by operationId: the one place roles are granted
 * (docs/security.md#admin-users-and-roles). `adminApi` checks it on every admin request; an
 * operation missing here is refused to everyone, and test/security/admin-roles.test.ts fails for
 * any registered admin route without an entry (and for any entry without a route).
 *
 * `public` marks the one admin route reachable without a session: login.
 */
const ANYONE: readonly AdminRole[] = ['reviewer', 'finance', 'admin'];
const FINANCE: readonly AdminRole[] = ['finance', 'admin'];
const ADMIN: readonly AdminRole[] = ['admin'];

export const ADMIN_ACCESS: Readonly<Record<string, readonly AdminRole[] | 'public'>> = {
  // Sessions: logging in needs no session; every role may end its own.
  adminLogin: 'public',
  adminLogout: ANYONE,

  // Reviewers read orders and what happened to them, and decide reviews.
  adminListEvents: ANYONE,
  adminExplainPrice: ANYONE,
  adminListCardTypes: ANYONE,
  adminGetCardType: ANYONE,
  // Reviewers see which cards, sellers, devices and IPs are locked out; only admins release them.
  adminListLockouts: ANYONE,
  adminReleaseLockout: ADMIN,
  // Risk: reviewers see the rules, the blacklists and what fired on an order; admins change them.
  adminListRiskRules: ANYONE,
  adminPutRiskRule: ADMIN,
  adminListBlacklist: ANYONE,
  adminAddToBlacklist: ADMIN,
  adminRemoveFromBlacklist: ADMIN,
  adminListOrderAssessments: ANYONE,
  // Suspicious-activity reports go to compliance, which works with the finance role.
  adminExportRiskReports: FINANCE,
  adminExportRiskReportsCsv: FINANCE,
  // The manual review queue (docs/reviews.md): every role may review.
  adminListReviews: ANYONE,
  adminGetReview: ANYONE,
  adminClaimReview: ANYONE,
  adminReleaseReview: ANYONE,
  adminDecideReview: ANYONE,
  // Fraud rings (sellers linked by shared devices, IPs, destinations): read by every role.
  adminGetSellerRing: ANYONE,
  adminListRings: ANYONE,

  // Finance: payouts, settlement batches, the ledger (balances, entries, corrections).
  adminListPayouts: FINANCE,
  adminGetPayout: FINANCE,
  adminResolvePayout: FINANCE,
  adminListSettlementBatches: FINANCE,
  adminGetSettlementBatch: FINANCE,
  adminApproveSettlementBatch: FINANCE,
  adminExportSettlementBatch: FINANCE,
  adminListAccounts: FINANCE,
  adminGetAccount: FINANCE,
  adminListAccountEntries: FINANCE,
  adminCreateTransfers: FINANCE,

  // Admins: configuration (catalogue, issuers, channels, pricing, callbacks) and operators.
  adminCreateCardType: ADMIN,
  adminUpdateCardType: ADMIN,
  adminListIssuerRoutes: ADMIN,
  adminPutIssuerRoute: ADMIN,
  adminListIssuerCodes: ADMIN,
  adminPutIssuerCode: ADMIN,
  adminListChannels: ADMIN,
  adminPatchChannel: ADMIN,
  adminRotateChannelSecret: ADMIN,
  adminListChannelGroups: ADMIN,
  adminPutChannelGroup: ADMIN,
  adminListRates: ADMIN,
  adminAddRateSheet: ADMIN,
  adminExplainRate: ADMIN,
  adminListRateAdjustments: ADMIN,
  adminGetRateAdjustment: ADMIN,
  adminPutRateAdjustment: ADMIN,
  adminListFxRates: ADMIN,
  adminPutFxRate: ADMIN,
  adminCreateWebhookEndpoint: ADMIN,
  adminListWebhookEndpoints: ADMIN,
  adminGetWebhookEndpoint: ADMIN,
  adminUpdateWebhookEndpoint: ADMIN,
  adminDeleteWebhookEndpoint: ADMIN,
  adminReplayWebhookEndpoint: ADMIN,
  adminListWebhookDeliveries: ADMIN,
  adminGetWebhookDelivery: ADMIN,
  adminResendWebhookDelivery: ADMIN,
  adminResendEvent: ADMIN,
  adminListChannelKeys: ADMIN,
  adminAddChannelKey: ADMIN,
  adminRevokeChannelKey: ADMIN,
  adminListUsers: ADMIN,
  adminCreateUser: ADMIN,
  adminUpdateUser: ADMIN,
  adminResetUserPassword: ADMIN,
  adminListAuditLog: ADMIN,
};

/** The roles an operation allows; `public` for login; `undefined` (refused) when it has no entry. */
export const accessOf = (operationId: string | undefined): readonly AdminRole[] | 'public' | undefined =>
  operationId === undefined ? undefined : ADMIN_ACCESS[operationId];
