/** Lockouts' face: counters per subject and window, card lockouts, blocks of sellers, devices and IPs. */
export {
  type LockoutSettings,
  LockoutView,
  PRUNE_LOCKOUTS,
  type SubjectKind,
  WRONG_SECRET_REASONS,
} from './model.js';
export { lockoutAdminRoutes } from './routes.js';
export { createLockoutService, type LockoutService } from './service.js';
/** The shared counters: intake and the subscriber hit them; the risk engine reads them. */
export { countOf, countsOf, type Hit } from './store.js';
export { lockoutSubscriber } from './subscriber.js';
export { pruneLockoutsHandler } from './worker.js';
