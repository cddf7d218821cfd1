import type { Kysely } from 'kysely';

/**
 * Operators (docs/security.md#admin-users-and-roles): admin users with a role and an argon2id
 * password hash, their sessions (only the SHA-256 of the bearer token is kept), and the audit log
 * of every admin action.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('admin_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    /** Wrong passwords since the last success or lock; at the limit the user is locked. */
    .addColumn('failed_logins', 'integer', (c) => c.notNull())
    .addColumn('locked_until', 'bigint')
    .addColumn('last_login_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('admin_sessions')
    /** Hex SHA-256 of the bearer token: a leaked table opens no session. */
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('admin_sessions_user').on('admin_sessions').column('user_id').execute();

  await db.schema
    .createTable('admin_audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'bigint', (c) => c.notNull())
    /** `user` (an admin user), `break-glass` (RECARD_ADMIN_TOKEN) or `anonymous` (a login attempt). */
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_name', 'text', (c) => c.notNull())
    .addColumn('operation_id', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    /** JSON: path parameters and query. */
    .addColumn('params', 'text', (c) => c.notNull())
    /** JSON, secrets redacted; null without a body. */
    .addColumn('request_body', 'text')
    .addColumn('status', 'integer', (c) => c.notNull())
    /** JSON of the object before the change (routes that declare how to read it), redacted. */
    .addColumn('before', 'text')
    /** JSON of the answer, redacted. */
    .addColumn('after', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('admin_audit_actor').on('admin_audit').columns(['actor_name', 'id']).execute();
  await db.schema
    .createIndex('admin_audit_operation')
    .on('admin_audit')
    .columns(['operation_id', 'id'])
    .execute();
}
