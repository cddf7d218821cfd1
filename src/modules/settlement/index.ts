/** Settlement: cycles, batches and payouts (docs/settlement.md). */
export { addDays, businessDate, startOfBusinessDate } from './business-day.js';
export { PAYOUT_EVENT_TYPES, PAYOUT_FAILED, PAYOUT_PAID } from './events.js';
export { type PayoutStatus, type PayoutView, SEND_PAYOUT, SWEEP_SETTLEMENT } from './model.js';
export { type NotificationDeps, payoutNotificationRoutes } from './notifications.js';
export {
  moneyOf as payoutMoneyOf,
  type PayoutDeps,
  PROVIDER_OF,
  UNVERIFIED_DAILY_LIMIT_CNY,
} from './payouts.js';
export { sellerSettlementRoutes, settlementAdminRoutes, settlementRoutes } from './routes.js';
export { sendPayoutHandler } from './send.js';
export { createSettlementService, type SettlementService } from './service.js';
export { settlementSubscriber } from './subscriber.js';
export { sweepSettlementHandler } from './worker.js';
