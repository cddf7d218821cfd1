import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import { prepared, preparedInsert } from '../../storage/prepared.js';
import type { EventsTable } from '../../storage/schema.js';

export type EventRow = Selectable<EventsTable>;

/**
 * The next sequence number. The counter row stays locked until the caller's transaction ends, so
 * sequences are handed out in commit order (SQLite has one writer anyway): a reader that has seen
 * N can never later find a committed N−1.
 */
const nextSeq = prepared<Record<string, never>>((db) =>
  db
    .updateTable('event_sequence')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', 1)
    .returning('last_seq'),
);

export async function takeSequence(trx: Db): Promise<number> {
  const { rows } = await nextSeq.run<{ last_seq: number | string }>(trx, {});
  const seq = Number(rows[0]?.last_seq);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error('event_sequence row is missing');
  return seq;
}

export const insertEventRow = preparedInsert('events');

const bySeq = prepared<{ seq: number }>((db, p) =>
  db.selectFrom('events').selectAll().where('seq', '=', p.seq),
);

export async function findEventBySeq(db: Db, seq: number): Promise<EventRow | undefined> {
  return (await bySeq.run<EventRow>(db, { seq })).rows[0];
}

export interface EventFilter {
  channelId?: string;
  after?: number;
  type?: string;
  types?: readonly string[];
  subjectId?: string;
  limit: number;
}

export async function listEventRows(db: Db, f: EventFilter): Promise<EventRow[]> {
  if (f.types?.length === 0) return [];
  let q = db.selectFrom('events').selectAll();
  if (f.channelId !== undefined) q = q.where('channel_id', '=', f.channelId);
  if (f.after !== undefined) q = q.where('seq', '>', f.after);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.types !== undefined) q = q.where('type', 'in', [...f.types]);
  if (f.subjectId !== undefined) q = q.where('subject_id', '=', f.subjectId);
  return q.orderBy('seq').limit(f.limit).execute();
}
