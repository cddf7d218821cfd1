import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { ReviewsTable } from '../../storage/schema.js';
import type { ReviewListQuery, WaitingReviews } from './model.js';

export type ReviewRow = Selectable<ReviewsTable>;

export function findReview(db: Db, id: string): Promise<ReviewRow | undefined> {
  return db.selectFrom('reviews').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The order's latest case, decided or not. */
export function latestCaseOf(db: Db, orderId: string): Promise<ReviewRow | undefined> {
  return db
    .selectFrom('reviews')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertReview(db: Db, row: ReviewRow): Promise<void> {
  await db.insertInto('reviews').values(row).execute();
}

/**
 * Changes a case only if it is still as the caller read it (status and claim): two reviewers racing
 * for one case cannot both win. True when the row was changed.
 */
export async function updateReview(
  db: Db,
  read: ReviewRow,
  set: Partial<Omit<ReviewRow, 'id' | 'order_id' | 'channel_id' | 'created_at'>>,
): Promise<ReviewRow | undefined> {
  let q = db.updateTable('reviews').set(set).where('id', '=', read.id).where('status', '=', read.status);
  q =
    read.claimed_by === null
      ? q.where('claimed_by', 'is', null)
      : q.where('claimed_by', '=', read.claimed_by);
  q =
    read.claim_expires_at === null
      ? q.where('claim_expires_at', 'is', null)
      : q.where('claim_expires_at', '=', read.claim_expires_at);
  return q.returningAll().executeTakeFirst();
}

/** The queue, oldest first; `status` as shown (an expired claim counts as open). */
export function listReviews(db: Db, q: ReviewListQuery, nowMs: number): Promise<ReviewRow[]> {
  let query = db.selectFrom('reviews').selectAll();
  switch (q.status ?? 'waiting') {
    case 'waiting':
      query = query.where('status', '<>', 'decided');
      break;
    case 'open':
      query = query.where((eb) =>
        eb.or([
          eb('status', '=', 'open'),
          eb.and([eb('status', '=', 'claimed'), eb('claim_expires_at', '<=', nowMs)]),
        ]),
      );
      break;
    case 'claimed':
      query = query.where('status', '=', 'claimed').where('claim_expires_at', '>', nowMs);
      break;
    case 'info_requested':
      query = query.where('status', '=', 'info_requested');
      break;
    case 'decided':
      query = query.where('status', '=', 'decided');
      break;
  }
  if (q.reason !== undefined) query = query.where('reason', '=', q.reason);
  if (q.min_age_s !== undefined) query = query.where('created_at', '<=', nowMs - q.min_age_s * 1000);
  if (q.max_age_s !== undefined) query = query.where('created_at', '>=', nowMs - q.max_age_s * 1000);
  if (q.min_amount !== undefined) query = query.where('amount', '>=', q.min_amount);
  if (q.max_amount !== undefined) query = query.where('amount', '<=', q.max_amount);
  if (q.cursor !== undefined) query = query.where('id', '>', q.cursor);
  return query
    .orderBy('id')
    .limit(q.limit + 1)
    .execute();
}

/** What waits (not decided), per reason: how many and the oldest. */
export async function waitingReviews(db: Db): Promise<WaitingReviews[]> {
  const rows = await db
    .selectFrom('reviews')
    .select((eb) => [
      'reason',
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.min<number | string>('created_at').as('oldest'),
    ])
    .where('status', '<>', 'decided')
    .groupBy('reason')
    .execute();
  return rows.map((r) => ({ reason: r.reason, count: Number(r.n), oldestCreatedAt: Number(r.oldest) }));
}
