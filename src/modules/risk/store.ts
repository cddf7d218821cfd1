import type { Selectable } from 'kysely';
import type { Db } from '../../storage/database.js';
import { prepared, preparedInsert } from '../../storage/prepared.js';
import type {
  RiskAssessmentsTable,
  RiskBlacklistTable,
  RiskReportsTable,
  RiskRulesTable,
  RiskSellerProfilesTable,
} from '../../storage/schema.js';

export type RuleRow = Selectable<RiskRulesTable>;
export type AssessmentRow = Selectable<RiskAssessmentsTable>;
export type BlacklistRow = Selectable<RiskBlacklistTable>;
export type ReportRow = Selectable<RiskReportsTable>;
export type ProfileRow = Selectable<RiskSellerProfilesTable>;

export const ruleRows = (db: Db): Promise<RuleRow[]> => db.selectFrom('risk_rules').selectAll().execute();

export const ruleRow = (db: Db, id: string): Promise<RuleRow | undefined> =>
  db.selectFrom('risk_rules').selectAll().where('id', '=', id).executeTakeFirst();

/** Writes a rule's settings, conditioned on the version read: a concurrent change is not overwritten. */
export async function saveRule(db: Db, row: RuleRow, readVersion: number | null): Promise<boolean> {
  if (readVersion === null) {
    const r = await db
      .insertInto('risk_rules')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  const r = await db
    .updateTable('risk_rules')
    .set({
      enabled: row.enabled,
      mode: row.mode,
      params: row.params,
      version: row.version,
      updated_at: row.updated_at,
      updated_by: row.updated_by,
    })
    .where('id', '=', row.id)
    .where('version', '=', readVersion)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export const insertAssessment = preparedInsert('risk_assessments');
export const insertReport = preparedInsert('risk_reports');

export const assessmentsOf = (db: Db, orderId: string): Promise<AssessmentRow[]> =>
  db.selectFrom('risk_assessments').selectAll().where('order_id', '=', orderId).orderBy('id').execute();

/** One look-up statement per number of hashes, compiled once. */
const blacklistedStatements = new Map<number, ReturnType<typeof prepared<Record<string, unknown>>>>();
function blacklistedStatement(n: number) {
  let s = blacklistedStatements.get(n);
  if (!s) {
    s = prepared<Record<string, unknown>>((db, p) =>
      db
        .selectFrom('risk_blacklist')
        .select(['kind', 'value_hash'])
        .where(
          'value_hash',
          'in',
          Array.from({ length: n }, (_, i) => p[`h${i}`] as string),
        ),
    );
    blacklistedStatements.set(n, s);
  }
  return s;
}

/** Which of these keyed hashes are blacklisted. */
export async function blacklistedOf(
  db: Db,
  hashes: string[],
): Promise<{ kind: string; value_hash: string }[]> {
  if (hashes.length === 0) return [];
  // A batch slice's many hashes: one statement built for them (a prepared shape per count would
  // keep hundreds of shapes).
  if (hashes.length > 16)
    return db
      .selectFrom('risk_blacklist')
      .select(['kind', 'value_hash'])
      .where('value_hash', 'in', [...new Set(hashes)])
      .execute();
  const p: Record<string, unknown> = {};
  hashes.forEach((h, i) => {
    p[`h${i}`] = h;
  });
  const { rows } = await blacklistedStatement(hashes.length).run<{ kind: string; value_hash: string }>(db, p);
  return rows;
}

export const blacklistCount = async (db: Db): Promise<number> =>
  Number(
    (
      await db
        .selectFrom('risk_blacklist')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst()
    )?.n ?? 0,
  );

type ProfileParams = {
  channel: string;
  seller: string;
  now: number;
  lat: number | null;
  lon: number | null;
  city: string | null;
  locatedAt: number | null;
};

/** The profile upsert, located (the place moves to last, last to prev) or not (prev says so). */
function profileStatement(located: boolean) {
  return prepared<ProfileParams>((db, p) =>
    db
      .insertInto('risk_seller_profiles')
      .values({
        channel_id: p.channel,
        seller_id: p.seller,
        first_seen_at: p.now,
        last_lat: p.lat,
        last_lon: p.lon,
        last_city: p.city,
        last_located_at: p.locatedAt,
        prev_lat: null,
        prev_lon: null,
        prev_city: null,
        prev_located_at: null,
      })
      .onConflict((oc) =>
        oc.columns(['channel_id', 'seller_id']).doUpdateSet((eb) => ({
          prev_lat: eb.ref('risk_seller_profiles.last_lat'),
          prev_lon: eb.ref('risk_seller_profiles.last_lon'),
          prev_city: eb.ref('risk_seller_profiles.last_city'),
          prev_located_at: eb.ref('risk_seller_profiles.last_located_at'),
          ...(located
            ? {
                last_lat: eb.ref('excluded.last_lat'),
                last_lon: eb.ref('excluded.last_lon'),
                last_city: eb.ref('excluded.last_city'),
                last_located_at: eb.ref('excluded.last_located_at'),
              }
            : // Not located: the last place stays the one to compare with, and prev says so.
              {}),
        })),
      )
      .returningAll(),
  );
}

const touchLocated = profileStatement(true);
const touchUnlocated = profileStatement(false);

/**
 * Where the seller's IP is now, remembered in one statement: the row keeps its last and the one
 * before, and gives back both, so the rule compares this order's place with the last located one.
 * A seller seen for the first time gets `first_seen_at` = now.
 */
export async function touchProfile(
  db: Db,
  p: {
    channelId: string;
    sellerId: string;
    place: { lat: number; lon: number; city: string | null } | null;
    nowMs: number;
  },
): Promise<ProfileRow> {
  const place = p.place;
  const { rows } = await (place ? touchLocated : touchUnlocated).run<ProfileRow>(db, {
    channel: p.channelId,
    seller: p.sellerId,
    now: p.nowMs,
    lat: place?.lat ?? null,
    lon: place?.lon ?? null,
    city: place?.city ?? null,
    locatedAt: place ? p.nowMs : null,
  });
  const row = rows[0];
  if (!row) throw new Error('touchProfile: the upsert returned no row');
  return row;
}

export const insertBlacklist = preparedInsert('risk_blacklist');

export const blacklistRows = (db: Db, kind?: string): Promise<BlacklistRow[]> => {
  let q = db.selectFrom('risk_blacklist').selectAll();
  if (kind) q = q.where('kind', '=', kind);
  return q.orderBy('id').execute();
};

export const blacklistRow = (db: Db, id: string): Promise<BlacklistRow | undefined> =>
  db.selectFrom('risk_blacklist').selectAll().where('id', '=', id).executeTakeFirst();

export const deleteBlacklist = async (db: Db, id: string): Promise<boolean> =>
  Number((await db.deleteFrom('risk_blacklist').where('id', '=', id).executeTakeFirst()).numDeletedRows) ===
  1;

export function reportRows(
  db: Db,
  q: { fromMs?: number; toMs?: number; kind?: string; limit: number },
): Promise<ReportRow[]> {
  let s = db.selectFrom('risk_reports').selectAll();
  if (q.fromMs !== undefined) s = s.where('created_at', '>=', q.fromMs);
  if (q.toMs !== undefined) s = s.where('created_at', '<', q.toMs);
  if (q.kind) s = s.where('kind', '=', q.kind);
  return s.orderBy('created_at').orderBy('id').limit(q.limit).execute();
}
