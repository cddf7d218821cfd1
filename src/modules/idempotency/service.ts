import type { Clock } from '../../shared/clock.js';
import { type Keyring, open, randomToken, seal } from '../../shared/crypto.js';
import type { Db } from '../../storage/database.js';
import {
  type Begin,
  type Claim,
  type Fingerprint,
  IDEMPOTENCY_LEASE_MS,
  IDEMPOTENCY_TTL_MS,
} from './model.js';
import { claimKey, findKey, pruneKeys, releaseKey, storeAnswer } from './store.js';

export interface IdempotencyDeps {
  db: Db;
  clock: Clock;
  /** Stored answers are sealed: some hold a secret shown once (a new channel's, a rotated one). */
  keyring: Keyring;
}

const sealContext = (scope: string, key: string) => `idempotency:${scope}:${key}`;

/**
 * `Idempotency-Key` (docs/idempotency.md): the first request with a key claims it and its answer is
 * kept; a repeat of the same request gets that answer; another request under the key is refused.
 */
export function createIdempotency({ db, clock, keyring }: IdempotencyDeps) {
  return {
    async begin(scope: string, key: string, request: Fingerprint): Promise<Begin> {
      const now = clock.now();
      const token = randomToken(16);
      const claimed = await claimKey(
        db,
        {
          scope,
          key,
          method: request.method,
          path: request.path,
          body_hash: request.bodyHash,
          claim: token,
          status: null,
          response: null,
          locked_until: now + IDEMPOTENCY_LEASE_MS,
          expires_at: now + IDEMPOTENCY_TTL_MS,
          created_at: now,
        },
        now,
      );
      if (claimed?.claim === token) return { kind: 'claimed', claim: { scope, key, token } };
      const row = await findKey(db, scope, key);
      // Released between the two statements: this request may take it on a retry.
      if (!row) return { kind: 'in_flight' };
      const same =
        row.method === request.method && row.path === request.path && row.body_hash === request.bodyHash;
      if (!same) return { kind: 'reused' };
      if (row.status === null || row.response === null) return { kind: 'in_flight' };
      return {
        kind: 'replay',
        status: row.status,
        body: open(keyring, row.response, sealContext(scope, key)),
      };
    },

    /** Keeps the answer for replay; false if the claim was lost (its lease ran out and it was taken over). */
    finish(claim: Claim, status: number, body: string): Promise<boolean> {
      return storeAnswer(db, claim.scope, claim.key, claim.token, {
        status,
        response: seal(keyring, body, sealContext(claim.scope, claim.key)),
        expiresAt: clock.now() + IDEMPOTENCY_TTL_MS,
      });
    },

    release(claim: Claim): Promise<void> {
      return releaseKey(db, claim.scope, claim.key, claim.token);
    },

    prune(): Promise<number> {
      return pruneKeys(db, clock.now());
    },
  };
}

export type Idempotency = ReturnType<typeof createIdempotency>;
