/** Sellers and their payout destinations (docs/settlement.md#sellers). */
export { checkDestination, currencyOf, luhnValid, maskAccount, sameName } from './destinations.js';
export { sellerRoutes } from './routes.js';
export { createSellerService, type PayoutTarget, type SellerService } from './service.js';
