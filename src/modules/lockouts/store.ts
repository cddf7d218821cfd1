import { type Selectable, sql } from 'kysely';
import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';
import type { LockoutsTable } from '../../storage/schema.js';
import type { Metric, SubjectKind } from './model.js';

export type LockoutRow = Selectable<LockoutsTable>;

/** A hit on one counter: which, its window's length and the hit's time. */
interface HitRow {
  kind: unknown;
  key: unknown;
  metric: unknown;
  windowMs: unknown;
  now: unknown;
}

/**
 * Hits on counters, atomically, one row each: the window opens at the first hit and a hit counts in
 * it while it lasts, else it opens a new window with count 1. Each row's window is tested against
 * its own hit's time (`excluded`), so many hits go in one statement. On PostgreSQL the upsert takes
 * each row's lock, so concurrent hits are counted one after the other, none lost (decision 0029).
 */
function upsertHits(db: Db, rows: readonly HitRow[]) {
  return db
    .insertInto('lockout_counters')
    .values(
      rows.map((r) => ({
        subject_kind: r.kind as string,
        subject_key: r.key as string,
        metric: r.metric as string,
        window_ms: r.windowMs as number,
        window_start: r.now as number,
        count: 1,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['subject_kind', 'subject_key', 'metric', 'window_ms']).doUpdateSet((eb) => {
        const open = eb(
          'lockout_counters.window_start',
          '>',
          sql<number>`excluded.window_start - excluded.window_ms`,
        );
        return {
          count: eb
            .case()
            .when(open)
            .then(eb('lockout_counters.count', '+', 1))
            .else(1)
            .end(),
          window_start: eb
            .case()
            .when(open)
            .then(eb.ref('lockout_counters.window_start'))
            .else(eb.ref('excluded.window_start'))
            .end(),
        };
      }),
    );
}

const hitCounter = prepared<{
  kind: string;
  key: string;
  metric: string;
  windowMs: number;
  now: number;
}>((db, p) =>
  upsertHits(db, [
    { kind: p.kind, key: p.key, metric: p.metric, windowMs: p.windowMs, now: p.now },
  ]).returning('count'),
);

export interface Hit {
  kind: SubjectKind;
  key: string;
  metric: Metric;
  windowMs: number;
  nowMs: number;
}

/** Counts one hit and returns the count in the current window (this hit included). */
export async function hit(db: Db, h: Hit): Promise<number> {
  const { rows } = await hitCounter.run<{ count: number | string }>(db, {
    kind: h.kind,
    key: h.key,
    metric: h.metric,
    windowMs: h.windowMs,
    now: h.nowMs,
  });
  return Number(rows[0]?.count ?? 0);
}

const currentCount = prepared<{ kind: string; key: string; metric: string; windowMs: number; since: number }>(
  (db, p) =>
    db
      .selectFrom('lockout_counters')
      .select('count')
      .where('subject_kind', '=', p.kind)
      .where('subject_key', '=', p.key)
      .where('metric', '=', p.metric)
      .where('window_ms', '=', p.windowMs)
      .where('window_start', '>', p.since),
);

/** The count of a counter's current window (0 if none): what a reader sharing the counter sees. */
export async function countOf(db: Db, c: Omit<Hit, 'nowMs'>, nowMs: number): Promise<number> {
  const { rows } = await currentCount.run<{ count: number | string }>(db, {
    kind: c.kind,
    key: c.key,
    metric: c.metric,
    windowMs: c.windowMs,
    since: nowMs - c.windowMs,
  });
  return Number(rows[0]?.count ?? 0);
}

/**
 * Intake's one statement: a hit on the card's `try` counter that also returns the active lockout,
 * if any, of the card, the seller, the device or the IP (a card's first: kinds sort `card` first).
 */
const admitTry = prepared<{
  card: string;
  windowMs: number;
  now: number;
  seller: string;
  device: string | null;
  ip: string | null;
}>((db, p) => {
  const active = () =>
    db
      .selectFrom('lockouts')
      .where((w) =>
        w.or([
          w.and([w('subject_key', '=', p.card), w('subject_kind', '=', 'card')]),
          w.and([w('subject_key', '=', p.seller), w('subject_kind', '=', 'seller')]),
          w.and([w('subject_key', '=', p.device), w('subject_kind', '=', 'device')]),
          w.and([w('subject_key', '=', p.ip), w('subject_kind', '=', 'ip')]),
        ]),
      )
      .where('expires_at', '>', p.now)
      .where('released_at', 'is', null)
      .orderBy('subject_kind')
      .limit(1);
  return upsertHits(db, [
    { kind: 'card', key: p.card, metric: 'try', windowMs: p.windowMs, now: p.now },
  ]).returning([
    'count',
    () => active().select('subject_kind').as('locked_kind'),
    () => active().select('expires_at').as('locked_until'),
  ]);
});

export interface TryOutcome {
  /** Tries of the card in the current window, this one included. */
  count: number;
  /** The active lockout found (of the card first), if any. */
  locked?: { kind: SubjectKind; untilMs: number };
}

export async function countTry(
  db: Db,
  t: { cardKey: string; sellerKey: string; deviceKey: string | null; ipKey: string | null },
  windowMs: number,
  nowMs: number,
): Promise<TryOutcome> {
  const { rows } = await admitTry.run<{
    count: number | string;
    locked_kind: string | null;
    locked_until: number | string | null;
  }>(db, {
    card: t.cardKey,
    windowMs,
    now: nowMs,
    seller: t.sellerKey,
    device: t.deviceKey,
    ip: t.ipKey,
  });
  const r = rows[0];
  const count = Number(r?.count ?? 0);
  return r?.locked_kind
    ? { count, locked: { kind: r.locked_kind as SubjectKind, untilMs: Number(r.locked_until) } }
    : { count };
}

/** One try of a card, as `countTries` takes them: the card's key and the time of the try. */
export interface CardTry {
  cardKey: string;
  nowMs: number;
}

/**
 * A try of each of many distinct cards in one statement (a batch slice), as `countTry` counts one.
 * Rows go in key order, so that two slices on PostgreSQL take their row locks in one order. Returns each try's
 * count, this try included, in the order given.
 */
export async function countTries(db: Db, tries: readonly CardTry[], windowMs: number): Promise<number[]> {
  if (tries.length === 0) return [];
  const sorted = [...tries].sort((a, b) => (a.cardKey < b.cardKey ? -1 : a.cardKey > b.cardKey ? 1 : 0));
  const rows = await upsertHits(
    db,
    sorted.map((t) => ({ kind: 'card', key: t.cardKey, metric: 'try', windowMs, now: t.nowMs })),
  )
    .returning(['subject_key', 'count'])
    .execute();
  const counts = new Map(rows.map((r) => [r.subject_key, Number(r.count)]));
  return tries.map((t) => {
    const n = counts.get(t.cardKey);
    if (n === undefined) throw new Error('countTries: a try came back without its count');
    return n;
  });
}

/** Who is asked about: kind and key of each subject. */
export interface SubjectKey {
  kind: SubjectKind;
  key: string;
}

/**
 * The lockouts in force at `sinceMs` or later of any of `subjects`, one statement: each with its
 * kind, key and end, for the caller to test against each try's own time.
 */
export async function activeLockoutsOf(
  db: Db,
  subjects: readonly SubjectKey[],
  sinceMs: number,
): Promise<{ subject_kind: string; subject_key: string; expires_at: number }[]> {
  if (subjects.length === 0) return [];
  const byKind = new Map<SubjectKind, Set<string>>();
  for (const s of subjects) {
    const keys = byKind.get(s.kind) ?? new Set<string>();
    keys.add(s.key);
    byKind.set(s.kind, keys);
  }
  const rows = await db
    .selectFrom('lockouts')
    .select(['subject_kind', 'subject_key', 'expires_at'])
    .where((w) =>
      w.or(
        [...byKind].map(([kind, keys]) =>
          w.and([w('subject_kind', '=', kind), w('subject_key', 'in', [...keys])]),
        ),
      ),
    )
    .where('expires_at', '>', sinceMs)
    .where('released_at', 'is', null)
    .execute();
  return rows.map((r) => ({ ...r, expires_at: Number(r.expires_at) }));
}

/**
 * The counts of many counters of one kind and metric, each in the window holding its own time (0
 * for none): what `countOf` gives for each, in one statement.
 */
export async function countsOf(
  db: Db,
  c: { kind: SubjectKind; metric: Metric; windowMs: number },
  asked: readonly { key: string; nowMs: number }[],
): Promise<number[]> {
  if (asked.length === 0) return [];
  // One counter (a single order's intake): the statement compiled once.
  if (asked.length === 1)
    return [await countOf(db, { ...c, key: asked[0]?.key as string }, asked[0]?.nowMs as number)];
  const rows = await db
    .selectFrom('lockout_counters')
    .select(['subject_key', 'count', 'window_start'])
    .where('subject_kind', '=', c.kind)
    .where('metric', '=', c.metric)
    .where('window_ms', '=', c.windowMs)
    .where('subject_key', 'in', [...new Set(asked.map((a) => a.key))])
    .execute();
  const byKey = new Map(rows.map((r) => [r.subject_key, r]));
  return asked.map((a) => {
    const r = byKey.get(a.key);
    return r && Number(r.window_start) > a.nowMs - c.windowMs ? Number(r.count) : 0;
  });
}

export async function activeLockout(
  db: Db,
  kind: SubjectKind,
  key: string,
  nowMs: number,
): Promise<LockoutRow | undefined> {
  return db
    .selectFrom('lockouts')
    .selectAll()
    .where('subject_key', '=', key)
    .where('subject_kind', '=', kind)
    .where('expires_at', '>', nowMs)
    .where('released_at', 'is', null)
    .executeTakeFirst();
}

export async function insertLockout(db: Db, row: LockoutRow): Promise<void> {
  await db.insertInto('lockouts').values(row).execute();
}

export function listActive(db: Db, nowMs: number, kind: SubjectKind | undefined, limit: number) {
  let q = db
    .selectFrom('lockouts')
    .selectAll()
    .where('expires_at', '>', nowMs)
    .where('released_at', 'is', null);
  if (kind) q = q.where('subject_kind', '=', kind);
  return q.orderBy('created_at', 'desc').limit(limit).execute();
}

export function findLockout(db: Db, id: string) {
  return db.selectFrom('lockouts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Ends a lockout now and forgets its subject's counters, so that the next try starts afresh. */
export async function releaseLockout(db: Db, row: LockoutRow, nowMs: number): Promise<boolean> {
  // Every lock of the subject still in force ends with it: two may have been made at once (the
  // intake's try count and the subscriber's wrong secrets), and a release must free the subject.
  const r = await db
    .updateTable('lockouts')
    .set({ released_at: nowMs })
    .where('subject_kind', '=', row.subject_kind)
    .where('subject_key', '=', row.subject_key)
    .where('released_at', 'is', null)
    .executeTakeFirst();
  await db
    .deleteFrom('lockout_counters')
    .where('subject_kind', '=', row.subject_kind)
    .where('subject_key', '=', row.subject_key)
    .execute();
  return r.numUpdatedRows > 0n;
}

/** Counters whose window has passed, and lockouts ended before `endedBeforeMs`. */
export async function prune(db: Db, nowMs: number, endedBeforeMs: number): Promise<number> {
  const counters = await db
    .deleteFrom('lockout_counters')
    .where(sql<boolean>`window_start + window_ms < ${nowMs}`)
    .executeTakeFirst();
  const lockouts = await db
    .deleteFrom('lockouts')
    .where((w) => w.or([w('expires_at', '<', endedBeforeMs), w('released_at', '<', endedBeforeMs)]))
    .executeTakeFirst();
  return Number(counters.numDeletedRows) + Number(lockouts.numDeletedRows);
}
