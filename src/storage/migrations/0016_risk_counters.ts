import type { Kysely } from 'kysely';

/**
 * The risk rules' counters and running statistics (decision 0032): one row per key, window length
 * and fixed window (`window_start` a multiple of `window_ms`), kept until `expires_at` (the end of
 * the window after it), then removed by the prune.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('risk_counters')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_counters_pk', ['key', 'window_ms', 'window_start'])
    .execute();
  await db.schema.createIndex('risk_counters_expires').on('risk_counters').column('expires_at').execute();

  await db.schema
    .createTable('risk_moments')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('mean', 'double precision', (c) => c.notNull())
    .addColumn('m2', 'double precision', (c) => c.notNull())
    // The statistics before the last value was added: what that observe returns, read exactly.
    .addColumn('prior_n', 'integer', (c) => c.notNull())
    .addColumn('prior_mean', 'double precision', (c) => c.notNull())
    .addColumn('prior_m2', 'double precision', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_moments_pk', ['key', 'window_ms', 'window_start'])
    .execute();
  await db.schema.createIndex('risk_moments_expires').on('risk_moments').column('expires_at').execute();
}
