import { type Selectable, sql } from 'kysely';
import { insertRows } from '../../storage/bulk.js';
import type { Db, Dialect } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { EventsTable } from '../../storage/schema.js';

export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Omit<EventRow, 'position' | 'seq'>;

/**
 * SQLite: one writer at a time, so the next number is taken inside the insert itself (one statement:
 * an index look-up of the highest position). Events are pruned oldest first only, so it never goes back.
 */
/** The columns every event insert binds, field by field (a prepared statement may not spread them). */
const bound = (p: NewEventRow) => ({
  id: p.id,
  type: p.type,
  version: p.version,
  channel_id: p.channel_id,
  subject_id: p.subject_id,
  payload: p.payload,
  created_at: p.created_at,
});

const insertSqlite = prepared<NewEventRow>((db, p) => {
  const next = sql<number>`(select coalesce(max(position), 0) + 1 from events)`;
  return db
    .insertInto('events')
    .values({ position: next, seq: next, ...bound(p) })
    .returning('position');
});

/** PostgreSQL: the position from its sequence (no lock held to commit); `seq` comes after commit. */
const insertPostgres = prepared<NewEventRow>((db, p) =>
  db.insertInto('events').values(bound(p)).returning('position'),
);

/**
 * Writes an event in the caller's transaction; returns its position and, on SQLite, its sequence
 * (one writer at a time: numbering at insert is numbering in commit order). The counter row
 * (`event_sequence`) is the PostgreSQL sequencer's.
 */
export async function insertEvent(
  trx: Db,
  dialect: Dialect,
  row: NewEventRow,
): Promise<{ position: number; seq: number | null }> {
  const sqlite = dialect === 'sqlite';
  const { rows } = await (sqlite ? insertSqlite : insertPostgres).run<{ position: number | string }>(
    trx,
    row,
  );
  const position = Number(rows[0]?.position);
  return { position, seq: sqlite ? position : null };
}

/**
 * Writes many events in the caller's transaction; returns their positions in order (and, on SQLite,
 * sequences equal to them, numbered as `insertEvent` numbers one: after the highest so far).
 */
export async function insertEvents(
  trx: Db,
  dialect: Dialect,
  rows: readonly NewEventRow[],
): Promise<number[]> {
  if (rows.length === 0) return [];
  if (dialect === 'sqlite') {
    const top = await trx
      .selectFrom('events')
      .select(sql<number>`coalesce(max(position), 0)`.as('top'))
      .executeTakeFirstOrThrow();
    const base = Number(top.top);
    await insertRows(
      trx,
      'events',
      rows.map((r, i) => ({ position: base + i + 1, seq: base + i + 1, ...bound(r) })),
    );
    return rows.map((_, i) => base + i + 1);
  }
  const positions = new Map<string, number>();
  for (let i = 0; i < rows.length; i += 2_000) {
    const made = await trx
      .insertInto('events')
      .values(rows.slice(i, i + 2_000).map(bound))
      .returning(['id', 'position'])
      .execute();
    for (const m of made) positions.set(m.id, Number(m.position));
  }
  return rows.map((r) => positions.get(r.id) ?? Number.NaN);
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
  /** Inclusive upper bound on seq. */
  upTo?: number;
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
  if (f.upTo !== undefined) q = q.where('seq', '<=', f.upTo);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.types !== undefined) q = q.where('type', 'in', [...f.types]);
  if (f.subjectId !== undefined) q = q.where('subject_id', '=', f.subjectId);
  return q.orderBy('seq').limit(f.limit).execute();
}

export function findEventById(db: Db, id: string): Promise<EventRow | undefined> {
  return db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A channel's events written in [sinceMs, untilMs), in write order, a page after `afterPosition`. */
export function listEventsCreated(
  db: Db,
  channelId: string,
  types: readonly string[],
  sinceMs: number,
  untilMs: number,
  afterPosition: number,
  limit: number,
): Promise<EventRow[]> {
  if (types.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('events')
    .selectAll()
    .where('channel_id', '=', channelId)
    .where('type', 'in', [...types])
    .where('created_at', '>=', sinceMs)
    .where('created_at', '<', untilMs)
    .where('position', '>', afterPosition)
    .orderBy('position')
    .limit(limit)
    .execute();
}

/** The highest commit-order number handed out so far (0 before any event). */
export async function lastSequence(db: Db): Promise<number> {
  const r = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('seq').as('m'))
    .executeTakeFirst();
  return Number(r?.m ?? 0);
}
