import { sql } from 'kysely';
import { defineJobKind, type JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db, Dialect } from '../../storage/database.js';
import type { LinkKind } from './links.js';
import {
  computeRings,
  DEFAULT_MAX_SHARERS,
  DEFAULT_MIN_BAD_MEMBERS,
  type RingLink,
  type RingMember,
  type RingOptions,
  type RingsResult,
} from './rings.js';

/** The periodic computation of fraud rings (RECARD_RISK_RINGS_INTERVAL_MS, docs/risk-rings.md). */
export interface RingsPayload {
  min_bad_members: number;
  max_sharers: number;
}

export const COMPUTE_RINGS = defineJobKind<RingsPayload>({
  kind: 'risk.rings',
  maxAttempts: 3,
  timeoutMs: 5 * 60_000,
  backoff: { baseMs: 10_000, capMs: 120_000 },
  concurrency: 1,
});

/** A ring as the last computation stored it. */
export interface StoredRing {
  id: string;
  size: number;
  /** Members with a rejected or frozen order when it was computed. */
  badMembers: number;
  flagged: boolean;
  /** Members with their rejected and frozen orders when it was computed. */
  members: RingMember[];
  /** The shared values that link them: kind, masked label, the members seen with each. */
  links: RingLink[];
  /** When a ring of exactly these members was first computed. */
  firstSeenAt: number;
  computedAt: number;
}

export interface RingsComputed {
  rings: number;
  flagged: number;
  /** Values shared by more than `maxSharers` sellers, left out (the largest first, at most 10). */
  ignored: RingsResult['ignored'];
}

const CHUNK = 200;
function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Reads every link whose value two or more sellers share (and at most `maxSharers`), the sellers
 * with a rejected or frozen order, computes the rings and replaces the stored ones in one
 * transaction: readers see the previous computation or this one, never a mix.
 */
export async function refreshRings(
  db: Db,
  dialect: Dialect,
  options: RingOptions,
  nowMs: number,
): Promise<RingsComputed> {
  const maxSharers = options.maxSharers ?? DEFAULT_MAX_SHARERS;
  const shared = (least: number, most: number | null) => {
    let q = db
      .selectFrom('risk_seller_links')
      .select(['kind', 'value_hash'])
      .select((eb) => [eb.fn.countAll<number | string>().as('sharers'), eb.fn.min('label').as('label')])
      .groupBy(['kind', 'value_hash'])
      .having((eb) => eb.fn.countAll(), '>=', least);
    if (most !== null) q = q.having((eb) => eb.fn.countAll(), '<=', most);
    return q;
  };
  const links = await db
    .selectFrom('risk_seller_links as l')
    .innerJoin(shared(2, maxSharers).as('s'), (j) =>
      j.onRef('s.kind', '=', 'l.kind').onRef('s.value_hash', '=', 'l.value_hash'),
    )
    .select(['l.channel_id', 'l.seller_id', 'l.kind', 'l.value_hash', 'l.label'])
    .execute();
  const ignored = await shared(maxSharers + 1, null)
    .orderBy('sharers', 'desc')
    .limit(10)
    .execute();
  const outcomes = await db
    .selectFrom('risk_seller_outcomes')
    .select(['channel_id', 'seller_id', 'rejected', 'frozen'])
    .where((w) => w.or([w('rejected', '>', 0), w('frozen', '>', 0)]))
    .execute();
  const result = computeRings(
    links.map((l) => ({
      channelId: l.channel_id,
      sellerId: l.seller_id,
      kind: l.kind as LinkKind,
      valueHash: l.value_hash,
      label: l.label,
    })),
    outcomes.map((o) => ({
      channelId: o.channel_id,
      sellerId: o.seller_id,
      rejected: Number(o.rejected),
      frozen: Number(o.frozen),
    })),
    { ...options, maxSharers },
  );

  await db.transaction().execute(async (trx) => {
    // Two workers computing at once would insert the same members: the second waits for the first.
    if (dialect === 'postgres') await sql`lock table risk_rings in exclusive mode`.execute(trx);
    const before = await trx.selectFrom('risk_rings').select(['id', 'first_seen_at']).execute();
    const firstSeen = new Map(before.map((r) => [r.id, Number(r.first_seen_at)]));
    await trx.deleteFrom('risk_ring_members').execute();
    await trx.deleteFrom('risk_rings').execute();
    for (const part of chunks(result.rings))
      await trx
        .insertInto('risk_rings')
        .values(
          part.map((r) => ({
            id: r.id,
            size: r.members.length,
            bad_members: r.badMembers,
            flagged: r.flagged ? 1 : 0,
            links: JSON.stringify(
              r.links.map((l) => ({
                kind: l.kind,
                label: l.label,
                members: l.members.map((m) => [m.channelId, m.sellerId]),
              })),
            ),
            first_seen_at: firstSeen.get(r.id) ?? nowMs,
            computed_at: nowMs,
          })),
        )
        .execute();
    const members = result.rings.flatMap((r) =>
      r.members.map((m) => ({
        ring_id: r.id,
        channel_id: m.channelId,
        seller_id: m.sellerId,
        rejected: m.rejected,
        frozen: m.frozen,
      })),
    );
    for (const part of chunks(members, 500)) await trx.insertInto('risk_ring_members').values(part).execute();
  });
  return {
    rings: result.rings.length,
    flagged: result.rings.filter((r) => r.flagged).length,
    ignored: ignored.map((v) => ({
      kind: v.kind as LinkKind,
      label: String(v.label),
      sharers: Number(v.sharers),
    })),
  };
}

export function ringsJobHandler(db: Db, dialect: Dialect, clock: Clock): JobHandler<RingsPayload> {
  return {
    spec: COMPUTE_RINGS,
    async handle(payload, ctx) {
      const done = await refreshRings(
        db,
        dialect,
        { minBadMembers: payload.min_bad_members, maxSharers: payload.max_sharers },
        clock.now(),
      );
      ctx.logger.info(
        { rings: done.rings, flagged: done.flagged, ignored_values: done.ignored.length },
        'fraud rings computed',
      );
    },
  };
}

/** The payload the schedule carries: the thresholds (RECARD_RISK_RINGS_* settings). */
export function ringsPayload(o: { minBadMembers?: number; maxSharers?: number } = {}): RingsPayload {
  return {
    min_bad_members: o.minBadMembers ?? DEFAULT_MIN_BAD_MEMBERS,
    max_sharers: o.maxSharers ?? DEFAULT_MAX_SHARERS,
  };
}

type RingRow = {
  id: string;
  size: number | string;
  bad_members: number | string;
  flagged: number | string;
  links: string;
  first_seen_at: number | string;
  computed_at: number | string;
};

async function withMembers(db: Db, rows: RingRow[]): Promise<StoredRing[]> {
  if (rows.length === 0) return [];
  const members = await db
    .selectFrom('risk_ring_members')
    .selectAll()
    .where(
      'ring_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('channel_id')
    .orderBy('seller_id')
    .execute();
  const byRing = new Map<string, RingMember[]>();
  for (const m of members) {
    const list = byRing.get(m.ring_id) ?? [];
    list.push({
      channelId: m.channel_id,
      sellerId: m.seller_id,
      rejected: Number(m.rejected),
      frozen: Number(m.frozen),
    });
    byRing.set(m.ring_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    size: Number(r.size),
    badMembers: Number(r.bad_members),
    flagged: Number(r.flagged) === 1,
    members: byRing.get(r.id) ?? [],
    links: (JSON.parse(r.links) as { kind: LinkKind; label: string; members: [string, string][] }[]).map(
      (l) => ({
        kind: l.kind,
        label: l.label,
        members: l.members.map(([channelId, sellerId]) => ({ channelId, sellerId })),
      }),
    ),
    firstSeenAt: Number(r.first_seen_at),
    computedAt: Number(r.computed_at),
  }));
}

/** The ring a seller is in, as last computed; undefined when it is in none. */
export async function ringOfSeller(
  db: Db,
  channelId: string,
  sellerId: string,
): Promise<StoredRing | undefined> {
  const row = await db
    .selectFrom('risk_ring_members as m')
    .innerJoin('risk_rings as r', 'r.id', 'm.ring_id')
    .selectAll('r')
    .where('m.channel_id', '=', channelId)
    .where('m.seller_id', '=', sellerId)
    .executeTakeFirst();
  return row ? (await withMembers(db, [row]))[0] : undefined;
}

/** Rings by id, after `cursor`; only flagged (or only unflagged) ones when `flagged` is given. */
export async function listRings(
  db: Db,
  q: { flagged?: boolean; limit: number; cursor?: string },
): Promise<{ rings: StoredRing[]; more: boolean }> {
  let s = db
    .selectFrom('risk_rings')
    .selectAll()
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.flagged !== undefined) s = s.where('flagged', '=', q.flagged ? 1 : 0);
  if (q.cursor) s = s.where('id', '>', q.cursor);
  const rows = await s.execute();
  return { rings: await withMembers(db, rows.slice(0, q.limit)), more: rows.length > q.limit };
}

/**
 * For the review queue: the flagged rings of the last computation, by id (page with the last id
 * as `after`). A ring keeps its id while its members stay the same, so a queue that recorded the
 * ids it took finds only new or changed rings; `firstSeenAt` says since when a ring stands.
 */
export async function flaggedRings(
  db: Db,
  options: { after?: string; limit?: number } = {},
): Promise<StoredRing[]> {
  const page = await listRings(db, {
    flagged: true,
    limit: options.limit ?? 100,
    ...(options.after ? { cursor: options.after } : {}),
  });
  return page.rings;
}

/** A member of a flagged ring, as intake's ring rule needs it. */
export interface FlaggedMember {
  ringId: string;
  size: number;
  badMembers: number;
}

/** How `flaggedMembers` keys a seller. */
export const memberKey = (channelId: string, sellerId: string) => `${channelId}\u0000${sellerId}`;

/**
 * Every member of a flagged ring of the last computation, by `memberKey`: one statement, which
 * intake caches (flagged rings are few, and change only when the job runs).
 */
export async function flaggedMembers(db: Db): Promise<Map<string, FlaggedMember>> {
  const rows = await db
    .selectFrom('risk_ring_members as m')
    .innerJoin('risk_rings as r', 'r.id', 'm.ring_id')
    .select(['m.channel_id', 'm.seller_id', 'r.id', 'r.size', 'r.bad_members'])
    .where('r.flagged', '=', 1)
    .execute();
  return new Map(
    rows.map((r) => [
      memberKey(r.channel_id, r.seller_id),
      { ringId: r.id, size: Number(r.size), badMembers: Number(r.bad_members) },
    ]),
  );
}
