import { type Selectable, sql } from 'kysely';
import type { Db, Dialect } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { EventsTable } from '../../storage/schema.js';

export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Omit<EventRow, 'position' | 'seq'>;

/** The next number of the one-row counter; on SQLite it is taken inside the (single) writer. */
const nextSeq = prepared<Record<string, never>>((db) =>
  db
    .updateTable('event_sequence')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', 1)
    .returning('last_seq'),
);

async function takeSequence(trx: Db): Promise<number> {
  const { rows } = await nextSeq.run<{ last_seq: number | string }>(trx, {});
  const seq = Number(rows[0]?.last_seq);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error('event_sequence row is missing');
  return seq;
}

const insertSqlite = prepared<NewEventRow & { seq: number }>((db, p) =>
  db.insertInto('events').values({
    position: p.seq,
    seq: p.seq,
    id: p.id,
    type: p.type,
    version: p.version,
    channel_id: p.channel_id,
    subject_id: p.subject_id,
    payload: p.payload,
    created_at: p.created_at,
  }),
);

/** PostgreSQL: the position from its sequence (no lock held to commit); `seq` comes after commit. */
const insertPostgres = prepared<NewEventRow>((db, p) =>
  db
    .insertInto('events')
    .values({
      id: p.id,
      type: p.type,
      version: p.version,
      channel_id: p.channel_id,
      subject_id: p.subject_id,
      payload: p.payload,
      created_at: p.created_at,
    })
    .returning('position'),
);

/**
 * Writes an event in the caller's transaction; returns its position and, on SQLite, its sequence
 * (one writer at a time: numbering at insert is numbering in commit order).
 */
export async function insertEvent(
  trx: Db,
  dialect: Dialect,
  row: NewEventRow,
): Promise<{ position: number; seq: number | null }> {
  if (dialect === 'sqlite') {
    const seq = await takeSequence(trx);
    await insertSqlite.run(trx, { ...row, seq });
    return { position: seq, seq };
  }
  const { rows } = await insertPostgres.run<{ position: number | string }>(trx, row);
  return { position: Number(rows[0]?.position), seq: null };
}

const byPosition = prepared<{ position: number }>((db, p) =>
  db.selectFrom('events').selectAll().where('position', '=', p.position),
);

export async function findEventByPosition(db: Db, position: number): Promise<EventRow | undefined> {
  return (await byPosition.run<EventRow>(db, { position })).rows[0];
}

/**
 * PostgreSQL's sequencer step: numbers up to `limit` committed events that have no `seq` yet, in
 * position order, after the counter. Only one sequencer at a time holds the counter row; another
 * skips it (returns 0) rather than wait. Whatever commits later gets a higher number than anything
 * numbered here: `seq` is commit order.
 */
export async function sequencePending(db: Db, limit: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const counter = await trx
      .selectFrom('event_sequence')
      .select('last_seq')
      .where('id', '=', 1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!counter) return 0;
    const pending = await trx
      .selectFrom('events')
      .select('position')
      .where('seq', 'is', null)
      .orderBy('position')
      .limit(limit)
      .execute();
    if (pending.length === 0) return 0;
    const first = Number(counter.last_seq) + 1;
    const positions = pending.map((p) => Number(p.position));
    await sql`update events set seq = v.seq from (select unnest(${positions}::bigint[]) as position, generate_series(${first}::bigint, ${first + positions.length - 1}::bigint) as seq) v where events.position = v.position`.execute(
      trx,
    );
    await trx
      .updateTable('event_sequence')
      .set({ last_seq: first + positions.length - 1 })
      .where('id', '=', 1)
      .execute();
    return positions.length;
  });
}

export interface EventFilter {
  channelId?: string;
  after?: number;
  type?: string;
  types?: readonly string[];
  subjectId?: string;
  limit: number;
}

/** Sequenced events only, in sequence order: what a reader may resume from. */
export async function listEventRows(db: Db, f: EventFilter): Promise<EventRow[]> {
  if (f.types?.length === 0) return [];
  let q = db.selectFrom('events').selectAll().where('seq', 'is not', null);
  if (f.channelId !== undefined) q = q.where('channel_id', '=', f.channelId);
  if (f.after !== undefined) q = q.where('seq', '>', f.after);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.types !== undefined) q = q.where('type', 'in', [...f.types]);
  if (f.subjectId !== undefined) q = q.where('subject_id', '=', f.subjectId);
  return q.orderBy('seq').limit(f.limit).execute();
}
