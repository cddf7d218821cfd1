/** Callbacks' face: test callbacks today; endpoints and deliveries subscribe to events next. */
export { type CallbackTestStatus, type CallbackTestView, TEST_DELIVERY } from './model.js';
export { callbackTestRoutes } from './routes.js';
export { type CallbackTestService, createCallbackTestService } from './service.js';
export { verifyWebhook, webhookHeaders } from './signing.js';
export { testDeliveryHandler } from './worker.js';
