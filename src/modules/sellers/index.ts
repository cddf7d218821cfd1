/** Sellers and their payout destinations (docs/settlement.md#sellers); h5 sellers' logins (docs/h5-sellers.md). */
export { checkDestination, currencyOf, luhnValid, maskAccount, sameName } from './destinations.js';
export { sellerLoginRoutes, sellerSessionRoutes } from './login-routes.js';
export {
  createSellerLogins,
  csrfMatches,
  csrfTokenOf,
  FAILURE_WINDOW_MS,
  LOCK_MS,
  MAX_FAILED_LOGINS,
  type SellerLoginDeps,
  type SellerLogins,
  type SellerSession,
} from './logins.js';
export { sellerRoutes } from './routes.js';
export { createSellerService, type PayoutTarget, type SellerService } from './service.js';
