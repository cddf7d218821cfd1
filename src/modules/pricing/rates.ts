/**
 * Rate tables, pure (docs/architecture.md#money, docs/pricing.md). A rate sheet is one version of the ranges of
 * one kind of rate, for one card type, at one tier; it is in force from its `effectiveFrom` until a
 * later version of the same sheet takes over. Sheets are never changed: history stays explainable.
 */
export const RATE_KINDS = ['rate', 'commission'] as const;
/** `rate`: share of the face value paid to the seller; `commission`: the channel's share of the margin. */
export type RateKind = (typeof RATE_KINDS)[number];

/** Most specific first: a channel's own sheet, its group's ("agent"), the default. */
export const TIERS = ['channel', 'group', 'default'] as const;
export type Tier = (typeof TIERS)[number];

export interface RateRange {
  id: string;
  faceMin: number;
  faceMax: number;
  bps: number;
}

export interface RateSheet {
  id: string;
  tier: Tier;
  /** Channel or group id; '' for the default tier. */
  tierId: string;
  cardType: string;
  kind: RateKind;
  effectiveFrom: number;
  note: string | null;
  createdAt: number;
  /** Sorted by faceMin, not overlapping. An empty sheet withdraws the tier for this card type. */
  ranges: RateRange[];
}

export interface RateAsk {
  cardType: string;
  face: number;
  kind: RateKind;
  channelId: string;
  groupId: string | null;
  at: number;
}

export interface RateHit {
  sheet: RateSheet;
  range: RateRange;
}

const sheetKey = (tier: Tier, tierId: string, cardType: string, kind: RateKind) =>
  `${tier}\u0000${tierId}\u0000${cardType}\u0000${kind}`;

/** Every version of every sheet, grouped by sheet and ordered by when each took effect. */
export class RateIndex {
  private readonly versions = new Map<string, RateSheet[]>();

  constructor(sheets: Iterable<RateSheet>) {
    for (const s of sheets) {
      const key = sheetKey(s.tier, s.tierId, s.cardType, s.kind);
      const list = this.versions.get(key);
      if (list) list.push(s);
      else this.versions.set(key, [s]);
    }
    // Same effective time: the later-written version wins (ids sort by creation).
    for (const list of this.versions.values())
      list.sort((a, b) => a.effectiveFrom - b.effectiveFrom || (a.id < b.id ? -1 : 1));
  }

  /** The version of a sheet in force at `at`, if any. */
  inForce(tier: Tier, tierId: string, cardType: string, kind: RateKind, at: number): RateSheet | undefined {
    const list = this.versions.get(sheetKey(tier, tierId, cardType, kind));
    if (!list) return undefined;
    let found: RateSheet | undefined;
    for (const s of list) {
      if (s.effectiveFrom > at) break;
      found = s;
    }
    return found;
  }

  /** Every sheet in force at `at`. */
  allInForce(at: number): RateSheet[] {
    const out: RateSheet[] = [];
    for (const list of this.versions.values()) {
      const s = list.findLast((v) => v.effectiveFrom <= at);
      if (s) out.push(s);
    }
    return out;
  }

  /** Every version ever written, oldest first per sheet. */
  history(): RateSheet[] {
    return [...this.versions.values()].flat();
  }
}

/**
 * The most specific range covering the face value at `at`: the channel's sheet, then its group's,
 * then the default. A tier whose sheet does not cover this face value passes to the next one.
 */
export function resolveRate(index: RateIndex, ask: RateAsk): RateHit | undefined {
  const tiers: [Tier, string | null][] = [
    ['channel', ask.channelId],
    ['group', ask.groupId],
    ['default', ''],
  ];
  for (const [tier, tierId] of tiers) {
    if (tierId === null) continue;
    const sheet = index.inForce(tier, tierId, ask.cardType, ask.kind, ask.at);
    const range = sheet?.ranges.find((r) => r.faceMin <= ask.face && ask.face <= r.faceMax);
    if (sheet && range) return { sheet, range };
  }
  return undefined;
}

export interface RangeProblem {
  /** JSON path of the offending range in the request body. */
  field: string;
  code: 'rate_ranges_overlap' | 'unsupported_face_value' | 'invalid_request';
  message: string;
}

/**
 * What is wrong with the ranges of a new sheet, if anything: an empty or reversed range, two ranges
 * that share a face value, or a range covering no face value the card type accepts.
 */
export function checkRanges(
  ranges: { face_min: number; face_max: number; bps: number }[],
  acceptedFaces: number[],
): RangeProblem | undefined {
  for (const [i, r] of ranges.entries()) {
    if (r.face_min > r.face_max)
      return {
        field: `ranges.${i}.face_max`,
        code: 'invalid_request',
        message: `face_max ${r.face_max} is below face_min ${r.face_min}.`,
      };
    if (!acceptedFaces.some((f) => r.face_min <= f && f <= r.face_max))
      return {
        field: `ranges.${i}.face_min`,
        code: 'unsupported_face_value',
        message: `No face value the card type accepts (${acceptedFaces.join(', ')}) lies in ${r.face_min}–${r.face_max}.`,
      };
  }
  const order = ranges.map((r, i) => ({ r, i })).sort((a, b) => a.r.face_min - b.r.face_min);
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1];
    const cur = order[k];
    if (prev && cur && cur.r.face_min <= prev.r.face_max)
      return {
        field: `ranges.${cur.i}.face_min`,
        code: 'rate_ranges_overlap',
        message: `Range ${cur.r.face_min}–${cur.r.face_max} overlaps range ${prev.r.face_min}–${prev.r.face_max}.`,
      };
  }
  return undefined;
}
