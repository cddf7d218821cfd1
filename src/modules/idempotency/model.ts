import { defineJobKind } from '../../jobs/model.js';

/** How long an answer is kept for replay (Stripe keeps 24 h too). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * How long a claim holds the key while its request runs. A process that died mid-request leaves a
 * claim nobody will finish: after the lease, a retry with the same key and body executes again.
 */
export const IDEMPOTENCY_LEASE_MS = 60_000;

/** 1–255 printable ASCII characters (space to tilde). */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x20-\\x7e]{1,255}$';

export const PRUNE_IDEMPOTENCY = defineJobKind<Record<string, never>>({
  kind: 'idempotency.prune',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

/** The request as the key remembers it: a repeat must be the same call. */
export interface Fingerprint {
  method: string;
  path: string;
  bodyHash: string;
}

/** What a key says about a request that carries it. */
export type Begin =
  | { kind: 'claimed'; claim: Claim }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'in_flight' }
  | { kind: 'reused' };

export interface Claim {
  scope: string;
  key: string;
  token: string;
}
