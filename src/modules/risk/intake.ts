import type { Transaction } from 'kysely';
import type { Database } from '../../storage/schema.js';
import type { IntakeRiskInput } from '../orders/index.js';
import type { CounterSpec, RiskCounters } from './counters.js';
import type { Facts, Place } from './facts.js';
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
  /** Checks of a card number in the lockout window (lockouts' counter, read, not bumped). */
  cardChecks(trx: Trx, cardHash: string, nowMs: number): Promise<number>;
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

/**
 * Gathers the facts the enabled rules need, in the intake's transaction: counters are counted with
 * the order (a rolled-back intake has not counted on the database), the seller's place and devices
 * remembered. A disabled rule's facts are not gathered.
 */
export async function intakeFacts(
  deps: IntakeFactDeps,
  settings: readonly RuleSetting[],
  trx: Trx,
  i: IntakeRiskInput,
  nowMs: number,
): Promise<Facts> {
  const facts: Facts = {
    orderId: i.orderId,
    channelId: i.channelId,
    sellerId: i.sellerId,
    cardType: i.cardType,
    faceValue: i.faceValue,
    currency: i.currency,
    nowMs,
  };
  const subjects = subjectHashes(deps, i);

  const testing = setting(settings, 'card_testing');
  if (testing && i.cardHashes[0]) facts.cardChecks = await deps.cardChecks(trx, i.cardHashes[0], nowMs);

  const black = setting(settings, 'blacklist');
  if (black) {
    facts.blacklisted = [];
    if (deps.blacklistInUse()) {
      const wanted: [BlacklistKind, string][] = [];
      for (const k of black.kinds) {
        if (k === 'card') for (const h of i.cardHashes) wanted.push(['card', h]);
        else if (subjects[k]) wanted.push([k, subjects[k] as string]);
      }
      const hits = await blacklistedOf(
        trx,
        wanted.map(([, h]) => h),
      );
      for (const h of hits)
        if (!facts.blacklisted.includes(h.kind as BlacklistKind))
          facts.blacklisted.push(h.kind as BlacklistKind);
    }
  }

  if (setting(settings, 'ring_member')) {
    const ring = deps.flaggedRingOf(i.channelId, i.sellerId);
    facts.ring = ring ? { id: ring.ringId, size: ring.size, badMembers: ring.badMembers } : null;
  }

  // Velocity and structuring share one counting statement. A batch file's lines are neither counted
  // nor judged by velocity: its thresholds are of a person handing cards in, and a file is a
  // partner's declared volume, bounded by its line limit and the channel's daily caps (decision 0041).
  const vel = i.batchId === null ? setting(settings, 'velocity') : undefined;
  const struct = setting(settings, 'structuring');
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
  // How often this face value comes (the amount anomaly's usual values): the window and the one
  // before, as the statistics are kept. A file's lines are judged against the channel's statistics
  // but not added to them: 100,000 cards of one value would make every other value of the channel's
  // single orders an anomaly (decision 0041).
  const anomaly = setting(settings, 'amount_anomaly');
  const learns = i.batchId === null;
  const faceSpec: CounterSpec | undefined = anomaly
    ? {
        key: `af:${i.channelId}:${i.cardType}:${i.faceValue}`,
        windowMs: anomaly.window_ms,
        bucketMs: anomaly.window_ms,
      }
    : undefined;
  const faceAt = faceSpec && learns ? specs.length : -1;
  if (faceSpec && learns) specs.push(faceSpec);
  if (specs.length > 0) {
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

  if (faceSpec && !learns) facts.faceSeen = (await deps.counters.peek(trx, [faceSpec], nowMs))[0]?.count ?? 0;
  if (anomaly) {
    const key = `a:${i.channelId}:${i.cardType}`;
    facts.amountMoments = learns
      ? await deps.counters.observe(trx, key, anomaly.window_ms, i.faceValue, nowMs)
      : await deps.counters.peekMoments(trx, key, anomaly.window_ms, nowMs);
  }

  // The seller's place and age: one statement.
  const geo = setting(settings, 'geo_jump');
  const young = setting(settings, 'new_account_high_value');
  let profile: ProfileRow | undefined;
  if (geo || young) {
    const place = geo && i.clientIp ? deps.locate(i.clientIp) : null;
    profile = await touchProfile(trx, { channelId: i.channelId, sellerId: i.sellerId, place, nowMs });
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

  // Devices, IPs and destinations are remembered for rings whatever the rules; the device answer feeds its rule.
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
  if (linked.length > 0) {
    const mismatch = setting(settings, 'device_mismatch') !== undefined;
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
  return facts;
}

const maskTail = (v: string) => (v.length <= 4 ? '…' : `…${v.slice(-4)}`);
