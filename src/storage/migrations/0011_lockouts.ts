import type { Kysely } from 'kysely';

/**
 * Card lockouts (docs/security.md#card-lockouts-and-what-answers-reveal): counters of what happened
 * to a subject within a window, and the lockouts those counters put in place.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per subject, metric and window: a window opens at its first hit (decision 0029).
  await db.schema
    .createTable('lockout_counters')
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_key', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('lockout_counters_pk', ['subject_kind', 'subject_key', 'metric', 'window_ms'])
    .execute();
  await db.schema
    .createIndex('lockout_counters_start')
    .on('lockout_counters')
    .column('window_start')
    .execute();

  await db.schema
    .createTable('lockouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_key', 'text', (c) => c.notNull())
    /** What an admin sees of the subject: a card's masked number, never the number or its hash. */
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('released_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('lockouts_subject')
    .on('lockouts')
    .columns(['subject_key', 'subject_kind', 'expires_at'])
    .execute();
  await db.schema.createIndex('lockouts_expires').on('lockouts').column('expires_at').execute();
}
