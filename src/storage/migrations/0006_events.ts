import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The event backbone: one row per thing that happened (docs/events.md). `position` is taken when the
 * event is written (monotonic per subject: one subject's changes are serialised by its row);
 * `seq` is commit order, the number readers resume from (decision 0017). SQLite has one writer, so
 * both are taken at insert; on PostgreSQL `seq` is handed out after commit by the sequencer
 * (events/sequencer.ts), so that no writer holds a global lock until it commits.
 * Jobs gain an ordering key (a subscriber sees one order's events in order) and a typed error code.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  if (postgres) await sql`create sequence event_position`.execute(db);
  await db.schema
    .createTable('events')
    .addColumn('position', 'bigint', (c) =>
      postgres ? c.primaryKey().defaultTo(sql`nextval('event_position')`) : c.primaryKey(),
    )
    .addColumn('seq', 'bigint', (c) => c.unique())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('channel_id', 'text')
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_channel_seq').on('events').columns(['channel_id', 'seq']).execute();
  await db.schema.createIndex('events_subject_seq').on('events').columns(['subject_id', 'seq']).execute();
  // What the sequencer looks for: committed events without their commit-order number yet.
  await db.schema
    .createIndex('events_unsequenced')
    .on('events')
    .column('position')
    .where(sql.ref('seq'), 'is', null)
    .execute();

  await db.schema
    .createTable('event_sequence')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into event_sequence (id, last_seq) values (1, 0)`.execute(db);

  const jobs = db.schema.alterTable('jobs');
  /** Jobs sharing a key run one at a time, in `ordering_seq` order (a subscriber and one order). */
  await jobs.addColumn('ordering_key', 'text').execute();
  await jobs.addColumn('ordering_seq', 'bigint').execute();
  /** The typed cause of the last failure, when the handler gave one (never parsed from last_error). */
  await jobs.addColumn('last_error_code', 'text').execute();
  await db.schema
    .createIndex('jobs_ordering_open')
    .on('jobs')
    .columns(['ordering_key', 'ordering_seq'])
    .where(sql.ref('ordering_key'), 'is not', null)
    .execute();
}
