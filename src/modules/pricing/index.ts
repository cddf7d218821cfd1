/** Pricing's face: quotes and prices, rate tables, adjustment and exchange rates. */
export { createPricingAdmin, type PricingAdmin } from './admin.js';
export { PricingBook } from './book.js';
export type { PriceError, PricingAdminError } from './errors.js';
export {
  ADJUST_RATES,
  type FxRateView,
  OrderPrice,
  PRUNE_PRICING,
  type PriceExplanation,
  type QuoteView,
  REFRESH_FX,
} from './model.js';
export { pricingAdminRoutes, quoteRoutes } from './routes.js';
export { createPricingService, orderPrice, type PricingService } from './service.js';
export type { PriceRow } from './store.js';
export { adjustRatesHandler, prunePricingHandler, refreshFxHandler } from './worker.js';
