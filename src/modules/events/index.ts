/** The event backbone's face: what other modules and main/ may use. */
export { createEventLog, type EventLog, eventView, type NewEvent } from './log.js';
export {
  type AppendedEvent,
  defineEventType,
  type EventTypeSpec,
  eventEnvelope,
  type StoredEvent,
  type Subscriber,
  subscriberJobKind,
} from './model.js';
export { eventAdminRoutes, eventRoutes, eventWebhooks } from './routes.js';
export { Sequencer } from './sequencer.js';
export { createEventService, type EventService } from './service.js';
export { EventStreamHub, type StreamSink } from './stream.js';
export { eventStreamRoutes } from './stream-routes.js';
