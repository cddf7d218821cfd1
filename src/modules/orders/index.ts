/** Orders' face. Orders own order state: every change goes through `OrderService.change`. */
export { ORDER_EVENT_TYPES, OrderEventData } from './events.js';
export type {
  IntakeGuard,
  IntakeRefusal,
  IntakeRisk,
  IntakeRiskInput,
  IntakeRiskVerdict,
  IntakeSubjects,
} from './intake-guard.js';
export { ORDER_EVENTS, ORDER_STATUSES, type OrderEvent, type OrderStatus } from './lifecycle.js';
export {
  type OrderList,
  OrderView,
  SHRED_CARDS,
  SubmitOrder,
  VERIFY_BATCH_ORDER,
  VERIFY_ORDER,
} from './model.js';
export { orderRoutes } from './routes.js';
export { sellerOrderRoutes } from './seller-routes.js';
export { createOrderService, type OrderService } from './service.js';
export {
  type ChangeResult,
  createOrderTransitions,
  type OrderChange,
  type OrderFacts,
} from './transition.js';
