import type { Kysely } from 'kysely';

/**
 * Channel authentication beyond HMAC (docs/signing.md): which signature schemes a channel may use,
 * whether it must also present an OAuth access token, the client certificate it is bound to, its
 * registered public keys (RSA, SM2), and the rotating keys our access tokens are signed with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('channels')
    .addColumn('auth_schemes', 'text', (c) => c.notNull().defaultTo('["HMAC-SHA256"]'))
    .execute();
  await db.schema
    .alterTable('channels')
    .addColumn('require_token', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('channels').addColumn('client_cert_sha256', 'text').execute();

  await db.schema
    .createTable('channel_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull().references('channels.id'))
    .addColumn('algorithm', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  // A key is registered once, on one channel: the channel id is not signed, so a key shared by two
  // channels would let a call signed for one be replayed to the other.
  await db.schema
    .createIndex('channel_keys_fingerprint')
    .on('channel_keys')
    .column('fingerprint')
    .unique()
    .execute();
  await db.schema
    .createIndex('channel_keys_channel')
    .on('channel_keys')
    .columns(['channel_id', 'status'])
    .execute();

  await db.schema
    .createTable('oauth_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    /** No token is signed with it after this. */
    .addColumn('sign_until', 'bigint', (c) => c.notNull())
    /** Published in the JWKS until every token it signed has expired. */
    .addColumn('publish_until', 'bigint', (c) => c.notNull())
    .execute();
}
