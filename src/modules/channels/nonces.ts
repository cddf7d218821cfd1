import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';

/**
 * Records that a channel used a nonce; false if it was used before and has not yet expired. An
 * expired row is taken over, so pruning is housekeeping, not a condition of correctness.
 */
export async function claimNonce(
  db: Db,
  channelId: string,
  nonce: string,
  nowMs: number,
  ttlMs: number,
): Promise<boolean> {
  const expires = nowMs + ttlMs;
  const r = await nonceClaim.run(db, { channelId, nonce, expires, nowMs });
  return r.changed === 1;
}

const nonceClaim = prepared<{ channelId: string; nonce: string; expires: number; nowMs: number }>((db, p) =>
  db
    .insertInto('request_nonces')
    .values({ channel_id: p.channelId, nonce: p.nonce, expires_at: p.expires })
    .onConflict((oc) =>
      oc
        .columns(['channel_id', 'nonce'])
        .doUpdateSet({ expires_at: p.expires })
        .where('request_nonces.expires_at', '<', p.nowMs),
    ),
);

export async function pruneNonces(db: Db, nowMs: number): Promise<number> {
  const r = await db.deleteFrom('request_nonces').where('expires_at', '<', nowMs).executeTakeFirst();
  return Number(r.numDeletedRows);
}
