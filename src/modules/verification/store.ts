import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { IssuerCodesTable, IssuerRoutesTable } from '../../storage/schema.js';

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

/** Insert or replace in one statement (concurrent PUTs of one id race safely); the row as stored. */
export async function upsertRoute(db: Db, row: RouteRow): Promise<RouteRow> {
  const { id: _id, created_at: _c, ...changes } = row;
  return db
    .insertInto('issuer_routes')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(changes))
    .returningAll()
    .executeTakeFirstOrThrow();
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
