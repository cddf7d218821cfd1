import type { Db } from '../../storage/database.js';
import { prepared, preparedInsert } from '../../storage/prepared.js';
import type {
  CallbackTestsTable,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from '../../storage/schema.js';
import type { CallbackTestStatus } from './model.js';

export type CallbackTestRow = CallbackTestsTable;
export type EndpointRow = WebhookEndpointsTable;
export type DeliveryRow = WebhookDeliveriesTable;
export type AttemptRow = WebhookAttemptsTable;

export function insertCallbackTest(db: Db, row: CallbackTestRow): Promise<unknown> {
  return db.insertInto('callback_tests').values(row).execute();
}

export function findCallbackTest(db: Db, id: string): Promise<CallbackTestRow | undefined> {
  return db.selectFrom('callback_tests').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface AttemptResult {
  status: CallbackTestStatus;
  statusCode: number | null;
  error: string | null;
  nowMs: number;
}

export async function recordAttempt(db: Db, id: string, r: AttemptResult): Promise<void> {
  await db
    .updateTable('callback_tests')
    .set((eb) => ({
      status: r.status,
      attempts: eb('attempts', '+', 1),
      last_status_code: r.statusCode,
      last_error: r.error,
      updated_at: r.nowMs,
      delivered_at: r.status === 'delivered' ? r.nowMs : null,
    }))
    .where('id', '=', id)
    .execute();
}

export async function markFailed(db: Db, id: string, nowMs: number): Promise<void> {
  await db
    .updateTable('callback_tests')
    .set({ status: 'failed', updated_at: nowMs })
    .where('id', '=', id)
    .execute();
}

// --- endpoints

export function insertEndpoint(db: Db, row: EndpointRow): Promise<unknown> {
  return db.insertInto('webhook_endpoints').values(row).execute();
}

// The statements every delivery runs are prepared (decision 0016): built and compiled once.
const endpointById = prepared<{ id: string }>((db, p) =>
  db.selectFrom('webhook_endpoints').selectAll().where('id', '=', p.id),
);

export async function findEndpoint(db: Db, id: string): Promise<EndpointRow | undefined> {
  return (await endpointById.run<EndpointRow>(db, { id })).rows[0];
}

export function listEndpoints(db: Db, channelId?: string): Promise<EndpointRow[]> {
  let q = db.selectFrom('webhook_endpoints').selectAll();
  if (channelId !== undefined) q = q.where('channel_id', '=', channelId);
  return q.orderBy('id').limit(1000).execute();
}

const enabledOf = prepared<{ channelId: string }>((db, p) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('channel_id', '=', p.channelId)
    .where('enabled', '=', 1),
);

export async function enabledEndpoints(db: Db, channelId: string): Promise<EndpointRow[]> {
  return (await enabledOf.run<EndpointRow>(db, { channelId })).rows;
}

export async function updateEndpoint(db: Db, id: string, set: Partial<EndpointRow>): Promise<boolean> {
  const r = await db.updateTable('webhook_endpoints').set(set).where('id', '=', id).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
  return r.numDeletedRows === 1n;
}

/** An answer: the endpoint is healthy again. */
export async function endpointAnswered(db: Db, id: string): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('id', '=', id)
    .where('failing_since', 'is not', null)
    .execute();
}

/** A failure: starts the failing period if none is running; returns the endpoint as it is now. */
export async function endpointFailed(db: Db, id: string, nowMs: number): Promise<EndpointRow | undefined> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: nowMs })
    .where('id', '=', id)
    .where('failing_since', 'is', null)
    .execute();
  return findEndpoint(db, id);
}

/** Disables an endpoint that is still enabled; false if someone else did first. */
export async function disableEndpoint(db: Db, id: string, reason: string, nowMs: number): Promise<boolean> {
  const r = await db
    .updateTable('webhook_endpoints')
    .set({ enabled: 0, disabled_reason: reason, updated_at: nowMs })
    .where('id', '=', id)
    .where('enabled', '=', 1)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

// --- deliveries and attempts

const deliveryInsert = preparedInsert('webhook_deliveries');
const attemptInsert = prepared<AttemptRow & Record<string, unknown>>((db, p) =>
  db
    .insertInto('webhook_attempts')
    .values({
      delivery_id: p.delivery_id,
      attempt: p.attempt,
      at: p.at,
      status_code: p.status_code,
      latency_ms: p.latency_ms,
      error_code: p.error_code,
      error: p.error,
      response_head: p.response_head,
    })
    // A run handed back at shutdown may still finish and log its number, which the next claim reuses.
    .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing()),
);

export function insertDelivery(db: Db, row: DeliveryRow): Promise<unknown> {
  return deliveryInsert(db, row);
}

const deliveryById = prepared<{ id: string }>((db, p) =>
  db.selectFrom('webhook_deliveries').selectAll().where('id', '=', p.id),
);

export async function findDelivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
  return (await deliveryById.run<DeliveryRow>(db, { id })).rows[0];
}

export interface DeliveryFilter {
  channelId?: string;
  endpointId?: string;
  eventId?: string;
  status?: string;
  before?: string;
  limit: number;
}

export function listDeliveries(db: Db, f: DeliveryFilter): Promise<DeliveryRow[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll();
  if (f.channelId !== undefined) q = q.where('channel_id', '=', f.channelId);
  if (f.endpointId !== undefined) q = q.where('endpoint_id', '=', f.endpointId);
  if (f.eventId !== undefined) q = q.where('event_id', '=', f.eventId);
  if (f.status !== undefined) q = q.where('status', '=', f.status as DeliveryRow['status']);
  if (f.before !== undefined) q = q.where('id', '<', f.before);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

export function attemptsOf(db: Db, deliveryIds: readonly string[]): Promise<AttemptRow[]> {
  if (deliveryIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', 'in', [...deliveryIds])
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
}

export interface AttemptOutcome {
  attempt: AttemptRow;
  status: DeliveryRow['status'];
  nextAttemptAt: number | null;
}

/**
 * Logs an attempt and moves its delivery, only while the delivery is pending: an attempt that
 * comes late (a lost lease's twin) can never record a second success.
 */
const attemptRecorded = prepared<{
  id: string;
  status: string;
  attempts: number;
  next: number | null;
  code: number | null;
  error: string | null;
  at: number;
  succeededAt: number | null;
}>((db, p) =>
  db
    .updateTable('webhook_deliveries')
    .set({
      status: p.status as DeliveryRow['status'],
      attempts: p.attempts,
      next_attempt_at: p.next,
      last_status_code: p.code,
      last_error_code: p.error,
      updated_at: p.at,
      succeeded_at: p.succeededAt,
    })
    .where('id', '=', p.id)
    .where('status', '=', 'pending'),
);

export async function recordDeliveryAttempt(db: Db, o: AttemptOutcome): Promise<boolean> {
  const r = await attemptRecorded.run(db, {
    id: o.attempt.delivery_id,
    status: o.status,
    attempts: o.attempt.attempt,
    next: o.nextAttemptAt,
    code: o.attempt.status_code,
    error: o.attempt.error_code,
    at: o.attempt.at,
    succeededAt: o.status === 'succeeded' ? o.attempt.at : null,
  });
  if (r.changed !== 1) return false;
  await attemptInsert.run(db, { ...o.attempt });
  return true;
}

export async function failDelivery(
  db: Db,
  id: string,
  errorCode: string | null,
  nowMs: number,
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: 'failed',
      next_attempt_at: null,
      updated_at: nowMs,
      ...(errorCode ? { last_error_code: errorCode } : {}),
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}
