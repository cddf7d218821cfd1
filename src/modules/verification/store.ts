import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { IssuerCodesTable, IssuerRoutesTable, OrdersTable } from '../../storage/schema.js';

export type RouteRow = Selectable<IssuerRoutesTable>;
export type CodeRowFull = Selectable<IssuerCodesTable>;

export function enabledRoutes(db: Db, cardType: string): Promise<RouteRow[]> {
  return db
    .selectFrom('issuer_routes')
    .selectAll()
    .where('card_type', '=', cardType)
    .where('enabled', '=', 1)
    .orderBy('priority')
    .orderBy('id')
    .execute();
}

export function findRoute(db: Db, id: string): Promise<RouteRow | undefined> {
  return db.selectFrom('issuer_routes').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listRoutes(db: Db): Promise<RouteRow[]> {
  return db
    .selectFrom('issuer_routes')
    .selectAll()
    .orderBy('card_type')
    .orderBy('priority')
    .orderBy('id')
    .execute();
}

export async function upsertRoute(db: Db, row: RouteRow): Promise<void> {
  const { id: _id, created_at: _c, ...changes } = row;
  await db
    .insertInto('issuer_routes')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(changes))
    .execute();
}

export function codesOf(db: Db, issuer?: string): Promise<CodeRowFull[]> {
  let q = db.selectFrom('issuer_codes').selectAll();
  if (issuer) q = q.where('issuer', '=', issuer);
  return q.orderBy('issuer').orderBy('raw_code').execute();
}

export async function upsertCode(db: Db, row: CodeRowFull): Promise<void> {
  await db
    .insertInto('issuer_codes')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['issuer', 'raw_code'])
        .doUpdateSet({ reason: row.reason, description: row.description, updated_at: row.updated_at }),
    )
    .execute();
}

/** What the worker needs of an order, read fresh at every step. */
export function verificationState(db: Db, orderId: string) {
  return db
    .selectFrom('orders')
    .innerJoin('channels', 'channels.id', 'orders.channel_id')
    .select([
      'orders.id',
      'orders.status',
      'orders.card_type',
      'orders.declared_face_value',
      'orders.actual_face_value',
      'orders.redemption_id',
      'orders.redeem_state',
      'orders.route_id',
      'orders.raw_code',
      'orders.reason',
      'orders.card_wrapped_key',
      'orders.card_ciphertext',
      'channels.face_value_policy',
    ])
    .where('orders.id', '=', orderId)
    .executeTakeFirst();
}

type Progress = Partial<
  Pick<
    OrdersTable,
    | 'redeem_state'
    | 'redemption_id'
    | 'route_id'
    | 'issuer'
    | 'raw_code'
    | 'reason'
    | 'waiting_for'
    | 'actual_face_value'
  >
>;

/**
 * Records redeem progress without a status change, only if the redeem state is still `from`: the
 * guard that keeps two workers from both sending one card's redeem.
 */
export async function recordProgress(
  db: Db,
  orderId: string,
  from: string,
  changes: Progress,
  nowMs: number,
): Promise<boolean> {
  const r = await db
    .updateTable('orders')
    .set({ ...changes, updated_at: nowMs })
    .where('id', '=', orderId)
    .where('status', '=', 'verifying')
    .where('redeem_state', '=', from)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Orders in submitted or verifying untouched since `beforeMs`, oldest first. */
export function staleVerifications(db: Db, beforeMs: number, limit: number) {
  return db
    .selectFrom('orders')
    .select(['id', 'status', 'redeem_state'])
    .where('status', 'in', ['submitted', 'verifying'])
    .where('updated_at', '<', beforeMs)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

/** Whether a verify job for the order is waiting or running. */
export async function hasLiveVerifyJob(db: Db, kind: string, orderId: string): Promise<boolean> {
  const row = await db
    .selectFrom('jobs')
    .select('id')
    .where('kind', '=', kind)
    .where('state', 'in', ['available', 'running'])
    .where('payload', '=', JSON.stringify({ order_id: orderId }))
    .executeTakeFirst();
  return row !== undefined;
}
