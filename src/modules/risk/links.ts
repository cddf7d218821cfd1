import ipaddr from 'ipaddr.js';
import { sql } from 'kysely';
import { canonicalIp } from '../../shared/ip-address.js';
import type { KeyedHash } from '../../shared/suite.js';
import type { Db } from '../../storage/database.js';
import { prepared } from '../../storage/prepared.js';

/**
 * What a seller was seen with at intake (docs/risk-rings.md): devices, end-user IPs and payout
 * destinations, one row per seller and value, kept only as keyed hashes with a masked label.
 * The rule engine records them in the intake transaction; the rings job reads them.
 */
export const LINK_KINDS = ['device', 'ip', 'destination'] as const;
export type LinkKind = (typeof LINK_KINDS)[number];

export interface LinkSubject {
  kind: LinkKind;
  /** Keyed hash of the value (`createLinkHasher`); must differ between kinds for the same text. */
  valueHash: string;
  /** For people only: `device …1a2b`, `ip 203.0.113.0/24`, `alipay …1234`. */
  label: string;
}

export interface RecordLinks {
  channelId: string;
  sellerId: string;
  subjects: readonly LinkSubject[];
  /** The kinds whose `sellerKnownOfKind` the caller reads (a statement each when new); none if absent. */
  countKinds?: readonly LinkKind[];
}

export interface RecordedLink {
  kind: LinkKind;
  valueHash: string;
  /** The seller had never been seen with this value before this call. */
  isNew: boolean;
  /**
   * Values of this kind the seller had before this call (the new ones of this call not counted),
   * at most `KNOWN_CAP`: "a new device, and not the seller's first" is `isNew && sellerKnownOfKind > 0`.
   * Counted only for the kinds asked for (`countKinds`) that this call brought a new value of; null
   * for the others (nothing new of the kind or not asked: nothing to judge, no statement spent).
   */
  sellerKnownOfKind: number | null;
}

/** `sellerKnownOfKind` stops counting here: a seller seen from thousands of IPs costs no more than 100. */
export const KNOWN_CAP = 100;

/** Most subjects one call takes (one statement per size is compiled once and kept). */
const MAX_SUBJECTS = 16;

type Params = Record<string, unknown>;

/**
 * One statement per number of subjects: a multi-row upsert that returns, per value, its intake count
 * (1: the row was just inserted; the same test on SQLite and PostgreSQL, and exact under concurrent
 * intakes of one seller, which queue on the row). Nothing else rides on it: a correlated subquery in
 * the RETURNING clause made it five times slower on SQLite (docs/benchmarks.md).
 */
function upsertFor(n: number) {
  return prepared<Params>((db, p) =>
    db
      .insertInto('risk_seller_links')
      .values(
        Array.from({ length: n }, (_, i) => ({
          channel_id: p.channel as string,
          seller_id: p.seller as string,
          kind: p[`k${i}`] as string,
          value_hash: p[`h${i}`] as string,
          label: p[`l${i}`] as string,
          first_seen_at: p.now as number,
          last_seen_at: p.now as number,
          orders: 1,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['channel_id', 'seller_id', 'kind', 'value_hash']).doUpdateSet((eb) => ({
          last_seen_at: eb.ref('excluded.last_seen_at'),
          orders: eb('risk_seller_links.orders', '+', 1),
        })),
      )
      .returning(['kind', 'value_hash', 'orders']),
  );
}

/** The seller's values of one kind, this call's included, counted up to a limit (a covering index search). */
const countOfKind = prepared<{ channel: string; seller: string; kind: string; most: number }>((db, p) =>
  db
    .selectFrom(
      db
        .selectFrom('risk_seller_links')
        .select(sql<number>`1`.as('one'))
        .where('channel_id', '=', p.channel)
        .where('seller_id', '=', p.seller)
        .where('kind', '=', p.kind)
        .limit(p.most)
        .as('known'),
    )
    .select((eb) => eb.fn.countAll<number | string>().as('n')),
);

const upserts = new Map<number, ReturnType<typeof upsertFor>>();

/**
 * Records that the seller was seen with these subjects now, in the caller's transaction (intake's),
 * and says for each whether it is new to the seller and, for an asked kind with a new value, how
 * many of the kind it had before. One statement, and one more per asked kind with a new value (a
 * seller's usual device and address cost one). Repeated subjects are recorded once.
 */
export async function recordLinks(trx: Db, input: RecordLinks, nowMs: number): Promise<RecordedLink[]> {
  // One row per value, in one order: two intakes of a seller lock its rows in the same sequence.
  const byKey = new Map<string, LinkSubject>();
  for (const s of input.subjects) byKey.set(`${s.kind}\u0000${s.valueHash}`, s);
  const subjects = [...byKey.values()].sort((a, b) =>
    a.kind === b.kind ? (a.valueHash < b.valueHash ? -1 : 1) : a.kind < b.kind ? -1 : 1,
  );
  const n = subjects.length;
  if (n === 0) return [];
  if (n > MAX_SUBJECTS) throw new Error(`recordLinks takes at most ${MAX_SUBJECTS} subjects, got ${n}`);
  let statement = upserts.get(n);
  if (!statement) {
    statement = upsertFor(n);
    upserts.set(n, statement);
  }
  const p: Params = { channel: input.channelId, seller: input.sellerId, now: nowMs };
  subjects.forEach((s, i) => {
    p[`k${i}`] = s.kind;
    p[`h${i}`] = s.valueHash;
    p[`l${i}`] = s.label;
  });
  const { rows } = await statement.run<{ kind: string; value_hash: string; orders: number | string }>(trx, p);
  const found = new Map(rows.map((r) => [`${r.kind}\u0000${r.value_hash}`, r]));
  const recorded = subjects.map((s) => {
    const r = found.get(`${s.kind}\u0000${s.valueHash}`);
    if (!r) throw new Error(`recordLinks: no row returned for a ${s.kind}`);
    return { kind: s.kind, valueHash: s.valueHash, isNew: Number(r.orders) === 1 };
  });
  // Before this call the seller had every value of the kind now stored but this call's new ones.
  const before = new Map<LinkKind, number>();
  const wanted = new Set(input.countKinds ?? []);
  for (const kind of new Set(recorded.filter((r) => r.isNew && wanted.has(r.kind)).map((r) => r.kind))) {
    const fresh = recorded.filter((r) => r.kind === kind && r.isNew).length;
    const { rows: counted } = await countOfKind.run<{ n: number | string }>(trx, {
      channel: input.channelId,
      seller: input.sellerId,
      kind,
      most: KNOWN_CAP + fresh,
    });
    before.set(kind, Math.min(KNOWN_CAP, Number(counted[0]?.n ?? 0) - fresh));
  }
  return recorded.map((r) => ({ ...r, sellerKnownOfKind: before.get(r.kind) ?? null }));
}

/** What intake knows of a submission that links sellers. */
export interface LinkInput {
  channelId: string;
  /** The channel's device id of the end user (devices are keyed per channel: ids are the channel's word). */
  deviceId?: string | null;
  /** The end user's IP (keyed across channels: an address is an address). */
  clientIp?: string | null;
  /** Where the seller is paid: the destination's type and account (keyed across channels). */
  destination?: { type: string; account: string } | null;
}

/** An IPv4 address as its /24, an IPv6 one as its /48: enough for people to see two are near. */
export function ipLabel(ip: string): string {
  if (!ipaddr.isValid(ip)) return 'ip (not an address)';
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') {
    const o = (a as ipaddr.IPv4).octets;
    return `ip ${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const parts = (a as ipaddr.IPv6).parts;
  const net = new ipaddr.IPv6([parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, 0, 0, 0, 0, 0]);
  return `ip ${net.toString()}/48`;
}

const last4 = (text: string) => (text.length <= 4 ? '…' : `…${text.slice(-4)}`);

/**
 * Turns what intake knows into link subjects: keyed hashes under the deployment's links key, and
 * masked labels. Raw devices, IPs and accounts go no further than this function.
 */
export function createLinkHasher(key: Buffer, hash: KeyedHash) {
  return {
    subjectsOf(input: LinkInput): LinkSubject[] {
      const out: LinkSubject[] = [];
      if (input.deviceId)
        out.push({
          kind: 'device',
          valueHash: hash(key, `device:${input.channelId}:${input.deviceId}`),
          label: `device ${last4(input.deviceId)}`,
        });
      if (input.clientIp)
        out.push({
          kind: 'ip',
          valueHash: hash(key, `ip:${canonicalIp(input.clientIp)}`),
          label: ipLabel(input.clientIp),
        });
      if (input.destination) {
        const account = input.destination.account.trim();
        out.push({
          kind: 'destination',
          valueHash: hash(key, `destination:${input.destination.type}:${account}`),
          label: `${input.destination.type} ${last4(account)}`,
        });
      }
      return out;
    },
  };
}

export type LinkHasher = ReturnType<typeof createLinkHasher>;

/**
 * Forgets links not seen since `before` (ms): at most `limit` rows per call, oldest first, so that
 * one call holds the writer briefly; returns how many went. The daily prune calls it until done.
 */
export async function pruneLinks(db: Db, before: number, limit = 1_000): Promise<number> {
  const old = await db
    .selectFrom('risk_seller_links')
    .select(['channel_id', 'seller_id', 'kind', 'value_hash'])
    .where('last_seen_at', '<', before)
    .limit(limit)
    .execute();
  if (old.length === 0) return 0;
  const gone = await db
    .deleteFrom('risk_seller_links')
    .where((eb) =>
      eb(
        eb.refTuple('channel_id', 'seller_id', 'kind', 'value_hash'),
        'in',
        old.map((r) => eb.tuple(r.channel_id, r.seller_id, r.kind, r.value_hash)),
      ),
    )
    // A link seen again between the read and the delete stays.
    .where('last_seen_at', '<', before)
    .executeTakeFirst();
  return Number(gone.numDeletedRows);
}
