import type { Db } from '../../storage/database.js';

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
  const r = await db
    .insertInto('request_nonces')
    .values({ channel_id: channelId, nonce, expires_at: nowMs + ttlMs })
    .onConflict((oc) =>
      oc
        .columns(['channel_id', 'nonce'])
        .doUpdateSet({ expires_at: nowMs + ttlMs })
        .where('request_nonces.expires_at', '<', nowMs),
    )
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function pruneNonces(db: Db, nowMs: number): Promise<number> {
  const r = await db.deleteFrom('request_nonces').where('expires_at', '<', nowMs).executeTakeFirst();
  return Number(r.numDeletedRows);
}
