import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { ChannelGroupsTable, ChannelsTable } from '../../storage/schema.js';
import type { ChannelStatus } from './model.js';

export type ChannelRow = ChannelsTable;

export function insertChannel(db: Db, row: ChannelRow): Promise<unknown> {
  return db.insertInto('channels').values(row).execute();
}

export function findChannel(db: Db, id: string): Promise<ChannelRow | undefined> {
  return db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listChannels(db: Db): Promise<ChannelRow[]> {
  return db.selectFrom('channels').selectAll().orderBy('id').execute();
}

export async function setChannelStatus(
  db: Db,
  id: string,
  status: ChannelStatus,
  nowMs: number,
): Promise<boolean> {
  const r = await db
    .updateTable('channels')
    .set({ status, updated_at: nowMs })
    .where('id', '=', id)
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

export type GroupRow = Selectable<ChannelGroupsTable>;

export function listGroups(db: Db): Promise<GroupRow[]> {
  return db.selectFrom('channel_groups').selectAll().orderBy('id').execute();
}

export function findGroup(db: Db, id: string): Promise<GroupRow | undefined> {
  return db.selectFrom('channel_groups').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Insert or rename in one statement (concurrent PUTs race safely); the row as stored. */
export async function upsertGroup(db: Db, row: GroupRow): Promise<GroupRow> {
  return db
    .insertInto('channel_groups')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name, updated_at: row.updated_at }))
    .returningAll()
    .executeTakeFirstOrThrow();
}
