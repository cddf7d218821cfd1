import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { CardTypesTable } from '../../storage/schema.js';

export type CardTypeRow = Selectable<CardTypesTable>;

export function listCardTypes(db: Db, options: { enabledOnly: boolean }): Promise<CardTypeRow[]> {
  let q = db.selectFrom('card_types').selectAll().orderBy('code');
  if (options.enabledOnly) q = q.where('enabled', '=', 1);
  return q.execute();
}

export function findCardType(db: Db, code: string): Promise<CardTypeRow | undefined> {
  return db.selectFrom('card_types').selectAll().where('code', '=', code).executeTakeFirst();
}

/** False when the code is taken. */
export async function insertCardType(db: Db, row: CardTypeRow): Promise<boolean> {
  const r = await db
    .insertInto('card_types')
    .values(row)
    .onConflict((oc) => oc.column('code').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function updateCardType(db: Db, code: string, changes: Partial<CardTypeRow>): Promise<boolean> {
  const r = await db.updateTable('card_types').set(changes).where('code', '=', code).executeTakeFirst();
  return r.numUpdatedRows === 1n;
}
