import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { IdempotencyKeysTable } from '../../storage/schema.js';

export type KeyRow = Selectable<IdempotencyKeysTable>;

/**
 * Takes the key in one statement: a new key is inserted; an expired one, or a claim past its lease
 * by the same request, is taken over. Undefined when the key is held (answered, in flight, or used
 * for another request): the caller reads the row to say which.
 */
export function claimKey(
  db: Db,
  row: Insertable<IdempotencyKeysTable>,
  now: number,
): Promise<KeyRow | undefined> {
  return db
    .insertInto('idempotency_keys')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['scope', 'key'])
        .doUpdateSet({
          method: row.method,
          path: row.path,
          body_hash: row.body_hash,
          claim: row.claim,
          status: null,
          response: null,
          locked_until: row.locked_until,
          expires_at: row.expires_at,
          created_at: row.created_at,
        })
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.expires_at', '<', now),
            eb.and([
              eb('idempotency_keys.status', 'is', null),
              eb('idempotency_keys.locked_until', '<', now),
              eb('idempotency_keys.method', '=', row.method),
              eb('idempotency_keys.path', '=', row.path),
              eb('idempotency_keys.body_hash', '=', row.body_hash),
            ]),
          ]),
        ),
    )
    .returningAll()
    .executeTakeFirst();
}

export function findKey(db: Db, scope: string, key: string): Promise<KeyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Stores the answer, if the claim is still ours. */
export async function storeAnswer(
  db: Db,
  scope: string,
  key: string,
  token: string,
  answer: { status: number; response: string; expiresAt: number },
): Promise<boolean> {
  const r = await db
    .updateTable('idempotency_keys')
    .set({ status: answer.status, response: answer.response, expires_at: answer.expiresAt })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('claim', '=', token)
    .where('status', 'is', null)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Gives the key back unanswered (a 5xx, or a request that never answered), if the claim is ours. */
export async function releaseKey(db: Db, scope: string, key: string, token: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where('claim', '=', token)
    .where('status', 'is', null)
    .execute();
}

export async function pruneKeys(db: Db, now: number): Promise<number> {
  const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<', now).executeTakeFirst();
  return Number(r.numDeletedRows);
}
