/** Idempotency keys' face: what http/ and main/ may use. */
export {
  type Begin,
  type Claim,
  type Fingerprint,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
  PRUNE_IDEMPOTENCY,
} from './model.js';
export { createIdempotency, type Idempotency, type IdempotencyDeps } from './service.js';
export { pruneIdempotencyHandler } from './worker.js';
