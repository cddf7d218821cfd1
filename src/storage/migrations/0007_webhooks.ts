import type { Kysely } from 'kysely';

/**
 * Callbacks on the event backbone (docs/webhooks.md): a channel's endpoints, one delivery per
 * (event, destination) with its retry state, and every attempt with its answer. Channels gain the
 * previous secrets kept through a rotation's overlap and their callback conventions.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    /** JSON array of event types; `["*"]` takes every type the channel sees. */
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('disabled_reason', 'text')
    /** Set by the first failed attempt after a success (or ever); cleared by any success. */
    .addColumn('failing_since', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_endpoints_channel')
    .on('webhook_endpoints')
    .columns(['channel_id', 'id'])
    .execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    /** Null for an order's own callback_url. */
    .addColumn('endpoint_id', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_position', 'bigint', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('event_created_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error_code', 'text')
    .addColumn('resend_of', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('succeeded_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_channel')
    .on('webhook_deliveries')
    .columns(['channel_id', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_endpoint')
    .on('webhook_deliveries')
    .columns(['endpoint_id', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_event')
    .on('webhook_deliveries')
    .column('event_id')
    .execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error', 'text')
    /** The first 1 KiB of the answer, as text. */
    .addColumn('response_head', 'text')
    .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
    .execute();

  // Claims are per kind (decision 0018): with a backlog of one kind (thousands of deliveries), a
  // claim of another must not walk past it.
  await db.schema.createIndex('jobs_kind_due').on('jobs').columns(['kind', 'state', 'run_at']).execute();

  const channels = db.schema.alterTable('channels');
  await channels.addColumn('secret_previous_sealed', 'text').execute();
  await channels.addColumn('secret_previous_until', 'bigint').execute();
  await channels.addColumn('webhook_secret_previous_sealed', 'text').execute();
  await channels.addColumn('webhook_secret_previous_until', 'bigint').execute();
  await channels.addColumn('callback_format', 'text', (c) => c.notNull().defaultTo('standard')).execute();
  await channels.addColumn('callback_ack', 'text', (c) => c.notNull().defaultTo('any_2xx')).execute();
  await channels
    .addColumn('callback_sign_type', 'text', (c) => c.notNull().defaultTo('HMAC-SHA256'))
    .execute();
  /** JSON array of hosts an order's callback_url may name; empty: any host the outbound rules allow. */
  await channels.addColumn('callback_hosts', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}
