import type { Transaction } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { IntakeRiskInput } from '../orders/index.js';
import { bucketRange, type CounterSpec, type RiskCounters, windowStart } from './counters.js';
import type { Facts, MomentsFact, Place } from './facts.js';
import { ipLabel, type LinkSubject, type RecordedLink, type RecordLinks } from './links.js';
import type { BlacklistKind, RuleId, RuleParams, RuleSetting, VelocitySubject } from './model.js';
import type { FlaggedMember } from './rings-job.js';
import { inStructuringBand } from './rules/index.js';
import { blacklistedOf, type ProfileRow, touchProfile } from './store.js';

type Trx = Transaction<Database>;

export type { IntakeRiskInput };

/** The counters the engine reads (risk/counters.ts: in the database, or in Redis). */
export type CounterPort = Pick<RiskCounters, 'add' | 'observe' | 'peek' | 'peekMoments'>;

/** A seller's devices, IPs and destinations, remembered (risk/links.ts); rings are made of them. */
export interface LinkPort {
  record(trx: Trx, input: RecordLinks, nowMs: number): Promise<RecordedLink[]>;
}

export interface IntakeFactDeps {
  counters: CounterPort;
  links: LinkPort;
  locate(ip: string): Place | null;
  /** Checks of each card number in the lockout window at its time (lockouts' counter, read, not bumped). */
  cardChecks(trx: Trx, cards: readonly { cardHash: string; nowMs: number }[]): Promise<number[]>;
  /** A keyed hash of a subject (kind-prefixed, so kinds never collide). */
  hash(text: string): string;
  /** Whether any blacklist row exists (cached): an empty blacklist costs no statement. */
  blacklistInUse(): boolean;
  /** The flagged ring a seller is in (cached from the rings job's last computation), else undefined. */
  flaggedRingOf(channelId: string, sellerId: string): FlaggedMember | undefined;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
/**
 * "In an hour" is any 60 minutes, not the clock hour: velocity counts slide, in buckets of 10
 * minutes for the hour and of an hour for the day. A burst is never missed across a window's edge,
 * and at most one bucket more than the window is counted (70 minutes, 25 hours; docs/risk.md).
 */
const HOUR_BUCKET = 600_000;
const DAY_BUCKET = HOUR;

function setting<R extends RuleId>(settings: readonly RuleSetting[], id: R): RuleParams<R> | undefined {
  const s = settings.find((r) => r.id === id);
  return s?.enabled ? (s.params as RuleParams<R>) : undefined;
}

/** The keyed hash of each subject an order names, by kind. */
export function subjectHashes(deps: Pick<IntakeFactDeps, 'hash'>, i: IntakeRiskInput) {
  return {
    seller: deps.hash(`seller:${i.channelId}:${i.sellerId}`),
    device: i.deviceId === null ? null : deps.hash(`device:${i.channelId}:${i.deviceId}`),
    ip: i.clientIp === null ? null : deps.hash(`ip:${i.clientIp}`),
    destination: i.destination === null ? null : deps.hash(`destination:${i.destination}`),
  };
}

/** One order to gather facts for, at its own time. */
export interface IntakeOrder {
  input: IntakeRiskInput;
  nowMs: number;
}

/**
 * Gathers the facts the enabled rules need, in the intake's transaction: counters are counted with
 * the order (a rolled-back intake has not counted on the database), the seller's place and devices
 * remembered. A disabled rule's facts are not gathered.
 *
 * Many orders (a batch slice) are gathered together, each as if gathered alone one after the
 * other: each kind of fact is gathered for every order before the next kind, which changes nothing
 * since no kind reads what another writes. Reads no order of the slice changes (a card's checks, the
 * blacklist, a file's face-value statistics, an unlocated seller's profile) are one statement for
 * all; what an order counts is counted order by order.
 */
export async function intakeFacts(
  deps: IntakeFactDeps,
  settings: readonly RuleSetting[],
  trx: Trx,
  orders: readonly IntakeOrder[],
): Promise<Facts[]> {
  // Learning orders (single ones) add to the statistics that a file's lines only read: a slice of
  // both would read some of its own adds, so it is gathered order by order.
  const learning = orders.filter((o) => o.input.batchId === null).length;
  if (learning > 0 && learning < orders.length) {
    const out: Facts[] = [];
    for (const o of orders) out.push(...(await intakeFacts(deps, settings, trx, [o])));
    return out;
  }
  const learns = learning > 0;
  const all = orders.map((o) => ({
    i: o.input,
    nowMs: o.nowMs,
    subjects: subjectHashes(deps, o.input),
    facts: {
      orderId: o.input.orderId,
      channelId: o.input.channelId,
      sellerId: o.input.sellerId,
      cardType: o.input.cardType,
      faceValue: o.input.faceValue,
      currency: o.input.currency,
      nowMs: o.nowMs,
    } as Facts,
  }));

  if (setting(settings, 'card_testing')) {
    const carded = all.filter((a) => a.i.cardHashes[0]);
    const checks = await deps.cardChecks(
      trx,
      carded.map((a) => ({ cardHash: a.i.cardHashes[0] as string, nowMs: a.nowMs })),
    );
    for (const [k, a] of carded.entries()) a.facts.cardChecks = checks[k] ?? 0;
  }

  const black = setting(settings, 'blacklist');
  if (black) {
    const wanted = all.map((a) => {
      const w: string[] = [];
      for (const k of black.kinds) {
        if (k === 'card') w.push(...a.i.cardHashes);
        else if (a.subjects[k]) w.push(a.subjects[k] as string);
      }
      return w;
    });
    const hits = deps.blacklistInUse() ? await blacklistedOf(trx, wanted.flat()) : [];
    const kindsOf = new Map<string, BlacklistKind[]>();
    for (const h of hits)
      kindsOf.set(h.value_hash, [...(kindsOf.get(h.value_hash) ?? []), h.kind as BlacklistKind]);
    for (const [k, a] of all.entries()) {
      const found: BlacklistKind[] = [];
      for (const h of wanted[k] ?? [])
        for (const kind of kindsOf.get(h) ?? []) if (!found.includes(kind)) found.push(kind);
      a.facts.blacklisted = found;
    }
  }

  if (setting(settings, 'ring_member'))
    for (const a of all) {
      const ring = deps.flaggedRingOf(a.i.channelId, a.i.sellerId);
      a.facts.ring = ring ? { id: ring.ringId, size: ring.size, badMembers: ring.badMembers } : null;
    }

  // Velocity and structuring share one counting statement. A batch file's lines are neither counted
  // nor judged by velocity: its thresholds are of a person handing cards in, and a file is a
  // partner's declared volume, bounded by its line limit and the channel's daily caps (decision 0041).
  // How often a face value comes (the amount anomaly's usual values) is counted with them: the
  // window and the one before, as the statistics are kept. A file's lines are judged against the
  // channel's statistics but not added to them: 100,000 cards of one value would make every other
  // value of the channel's single orders an anomaly (decision 0041).
  const vel = learns ? setting(settings, 'velocity') : undefined;
  const struct = setting(settings, 'structuring');
  const anomaly = setting(settings, 'amount_anomaly');
  const faceSpecOf = (i: IntakeRiskInput): CounterSpec | undefined =>
    anomaly && {
      key: `af:${i.channelId}:${i.cardType}:${i.faceValue}`,
      windowMs: anomaly.window_ms,
      bucketMs: anomaly.window_ms,
    };
  for (const { i, nowMs, subjects, facts } of all) {
    const specs: CounterSpec[] = [];
    const named: { subject: VelocitySubject; window: 'hour' | 'day' }[] = [];
    if (vel) {
      for (const s of vel.subjects) {
        const h = subjects[s];
        if (h === null) continue;
        specs.push(
          { key: `v:${h}`, windowMs: HOUR, bucketMs: HOUR_BUCKET },
          { key: `v:${h}`, windowMs: DAY, bucketMs: DAY_BUCKET },
        );
        named.push({ subject: s, window: 'hour' }, { subject: s, window: 'day' });
      }
    }
    const banded = struct !== undefined && inStructuringBand(struct, i.faceValue);
    if (struct) facts.structuringOrders = 0;
    const structAt = struct && banded ? specs.length : -1;
    if (struct && banded)
      specs.push({ key: `s:${subjects.seller}:${struct.limit}`, windowMs: struct.window_ms });
    const faceSpec = learns ? faceSpecOf(i) : undefined;
    const faceAt = faceSpec ? specs.length : -1;
    if (faceSpec) specs.push(faceSpec);
    if (specs.length === 0) continue;
    const totals = await deps.counters.add(trx, specs, i.faceValue, nowMs);
    if (vel)
      facts.velocity = named.map((n, k) => ({
        ...n,
        orders: totals[k]?.count ?? 0,
        amount: totals[k]?.amount ?? 0,
      }));
    if (structAt >= 0) facts.structuringOrders = totals[structAt]?.count ?? 0;
    if (faceAt >= 0) facts.faceSeen = Math.max(0, (totals[faceAt]?.count ?? 1) - 1);
  }

  if (anomaly) {
    // Read once per counter and window for the whole slice: no line of a file adds to them.
    const faces = new Map<string, Promise<number>>();
    const moments = new Map<string, Promise<MomentsFact>>();
    for (const { i, nowMs, facts } of all) {
      const key = `a:${i.channelId}:${i.cardType}`;
      if (learns) {
        facts.amountMoments = await deps.counters.observe(trx, key, anomaly.window_ms, i.faceValue, nowMs);
        continue;
      }
      const spec = faceSpecOf(i) as CounterSpec;
      const r = bucketRange(spec, nowMs);
      const faceKey = `${spec.key}\u0000${r.first}\u0000${r.last}`;
      if (!faces.has(faceKey))
        faces.set(
          faceKey,
          deps.counters.peek(trx, [spec], nowMs).then((v) => v[0]?.count ?? 0),
        );
      facts.faceSeen = await faces.get(faceKey);
      const momentsKey = `${key}\u0000${windowStart(nowMs, anomaly.window_ms)}`;
      if (!moments.has(momentsKey))
        moments.set(momentsKey, deps.counters.peekMoments(trx, key, anomaly.window_ms, nowMs));
      facts.amountMoments = await moments.get(momentsKey);
    }
  }

  // The seller's place and age: one statement per order, or per seller for a slice's orders that
  // carry no place (such a touch gives the same row however often it is made).
  const geo = setting(settings, 'geo_jump');
  const young = setting(settings, 'new_account_high_value');
  if (geo || young) {
    const placeOf = (i: IntakeRiskInput) => (geo && i.clientIp ? deps.locate(i.clientIp) : null);
    const located = new Set(all.filter((a) => placeOf(a.i) !== null).map((a) => sellerKey(a.i)));
    const unlocated = new Map<string, ProfileRow>();
    for (const { i, nowMs, facts } of all) {
      const place = placeOf(i);
      const seller = sellerKey(i);
      let profile = located.has(seller) ? undefined : unlocated.get(seller);
      if (!profile) {
        profile = await touchProfile(trx, { channelId: i.channelId, sellerId: i.sellerId, place, nowMs });
        if (!located.has(seller)) unlocated.set(seller, profile);
      }
      if (geo) {
        const before =
          profile.prev_lat !== null && profile.prev_lon !== null && profile.prev_located_at !== null
            ? {
                lat: profile.prev_lat,
                lon: profile.prev_lon,
                city: profile.prev_city,
                atMs: Number(profile.prev_located_at),
              }
            : null;
        facts.location = { now: place, before };
      }
      if (young) facts.accountAgeMs = nowMs - (i.userRegisteredAt ?? Number(profile.first_seen_at));
    }
  }

  // Devices, IPs and destinations are remembered for rings whatever the rules; the device answer feeds its rule.
  const mismatch = setting(settings, 'device_mismatch') !== undefined;
  for (const { i, nowMs, subjects, facts } of all) {
    const linked: LinkSubject[] = [];
    if (subjects.device && i.deviceId)
      linked.push({ kind: 'device', valueHash: subjects.device, label: `device ${maskTail(i.deviceId)}` });
    if (subjects.ip && i.clientIp)
      linked.push({ kind: 'ip', valueHash: subjects.ip, label: ipLabel(i.clientIp) });
    if (subjects.destination && i.destination)
      linked.push({
        kind: 'destination',
        valueHash: subjects.destination,
        label: `destination ${maskTail(i.destination)}`,
      });
    if (linked.length === 0) continue;
    const seen = await deps.links.record(
      trx,
      {
        channelId: i.channelId,
        sellerId: i.sellerId,
        subjects: linked,
        // Only the device rule reads how many the seller had before: an IP's count is not spent.
        ...(mismatch ? { countKinds: ['device' as const] } : {}),
      },
      nowMs,
    );
    if (mismatch) {
      const d = seen.find((s) => s.kind === 'device');
      facts.device = d ? { isNew: d.isNew, knownBefore: d.sellerKnownOfKind } : null;
    }
  }
  return all.map((a) => a.facts);
}

const sellerKey = (i: IntakeRiskInput) => `${i.channelId}\u0000${i.sellerId}`;

const maskTail = (v: string) => (v.length <= 4 ? '…' : `…${v.slice(-4)}`);
