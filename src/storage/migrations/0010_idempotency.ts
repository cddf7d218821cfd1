import type { Kysely } from 'kysely';

/**
 * `Idempotency-Key` on POST (docs/idempotency.md): one row per caller and key, claimed while the
 * request runs (`status` null, `locked_until` the lease), then holding the sealed answer for 24 h.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    /** `channel:<id>` or `admin:<caller>`: keys never collide across callers. */
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    /** SHA-256 (hex) of the raw body bytes. */
    .addColumn('body_hash', 'text', (c) => c.notNull())
    /** Random per claim: only the claimer may store the answer or release the key. */
    .addColumn('claim', 'text', (c) => c.notNull())
    /** Null while the request is in flight. */
    .addColumn('status', 'integer')
    /** The answer's body, sealed (it may hold a secret shown once). */
    .addColumn('response', 'text')
    .addColumn('locked_until', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_expires')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();
}
