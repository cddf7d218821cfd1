/** Callbacks' face: endpoints, deliveries as a subscriber of events, test callbacks, signing. */
export { classicBody, classicFields, classicSign, classicSigningString } from './classic.js';
export { deliverHandler } from './deliver.js';
export { createDeliveryService, type DeliveryService } from './deliveries.js';
export { adminWebhookRoutes, channelWebhookRoutes } from './endpoint-routes.js';
export { createEndpointService, type EndpointService } from './endpoints.js';
export { ENDPOINT_DISABLED, WEBHOOK_EVENT_TYPES } from './events.js';
export {
  type CallbackTestStatus,
  type CallbackTestView,
  DELIVER,
  type DeliveryStatus,
  type DeliveryView,
  type EndpointView,
  RETRY_SCHEDULE_MS,
  TEST_DELIVERY,
} from './model.js';
export { callbackTestRoutes } from './routes.js';
export { type CallbackTestService, createCallbackTestService } from './service.js';
export { verifyWebhook, webhookHeaders } from './signing.js';
export { callbackSubscriber } from './subscriber.js';
export { checkOrderCallbackUrl } from './urls.js';
export { endpointView } from './view.js';
export { testDeliveryHandler } from './worker.js';
