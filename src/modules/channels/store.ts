import type { Db } from '../../storage/database.js';
import type { ChannelsTable } from '../../storage/schema.js';
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
