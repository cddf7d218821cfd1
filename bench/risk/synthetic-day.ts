/**
 * A synthetic day of orders for the risk replay (docs/risk-replay.md): honest traffic with planted
 * fraud patterns, each planted order labelled with its pattern, its instance and whether it is the
 * pattern's signature (the order a rule can catch). Pure and deterministic: the same options give the
 * same day, byte for byte. No Recard rule is implemented here; the labels follow from how each
 * pattern is built.
 */
import { gtinValid, luhnValid } from '../../src/modules/cards/index.js';
import { DEFAULT_PARAMS } from '../../src/modules/risk/model.js';
import { addressIn, CITIES, type City, distanceKm } from './cities.js';

/** The velocity limits a planted burst is labelled against: the engine's defaults (data, not its rule). */
const VELOCITY = DEFAULT_PARAMS.velocity;

export const PATTERNS = [
  'card_testing',
  'velocity',
  'geo_jump',
  'amount_anomaly',
  'structuring',
  'new_account_high_value',
  'device_mismatch',
  'ring',
] as const;
export type Pattern = (typeof PATTERNS)[number];
/** Patterns decided at intake, whose recall the replay checks (ring is a periodic job, reported apart). */
export const INTAKE_PATTERNS: readonly Pattern[] = PATTERNS.filter((p) => p !== 'ring');

export type ChannelLabel = 'shop' | 'mall' | 'crypto';
export const CHANNEL_LABELS: readonly ChannelLabel[] = ['shop', 'mall', 'crypto'];
/** The channel kinds the replay creates for each label; crypto requires `blockchain_address`. */
export const CHANNEL_KINDS: Record<ChannelLabel, 'merchant' | 'crypto'> = {
  shop: 'merchant',
  mall: 'merchant',
  crypto: 'crypto',
};

export interface DayCard {
  cardType: string;
  number: string;
  /** The card's real secret (the issuer's). */
  secret: string;
  /** Real face value, minor units. */
  faceValue: number;
  state: 'valid' | 'used' | 'expired';
}

export interface OrderLabel {
  /** `honest` or the planted pattern. */
  pattern: Pattern | 'honest';
  /** The pattern instance (`card_testing#3`), null for honest orders. */
  instance: string | null;
  /** The order a rule of the pattern can catch; recall is computed over these. */
  signature: boolean;
  /** Free text: `typo`, `device_change`, `velocity:device`… */
  note?: string;
}

export interface DayOrder {
  index: number;
  /** Order time, ms since the epoch. */
  at: number;
  /** `history` orders come before the day (devices the sellers already used); not scored. */
  phase: 'history' | 'day';
  channel: ChannelLabel;
  merchantOrderId: string;
  cardType: string;
  cardNumber: string;
  /** What is submitted: the card's secret, or a wrong one (typos, card testing). */
  submittedSecret: string;
  declaredFaceValue: number;
  sellerId: string;
  userId: string;
  userRegisteredAt: number;
  deviceId: string;
  clientIp: string;
  blockchainAddress: string | null;
  /** Index of an order whose outcome must be known before this one is submitted (a retry of the same card). */
  after: number | null;
  label: OrderLabel;
}

export interface SyntheticDay {
  seed: string;
  dayStart: number;
  /** Orders of both phases, sorted by time (index order). */
  orders: DayOrder[];
  /** The issuers' card base: every card any order submits. */
  cards: DayCard[];
  /** Face values the catalogue must accept beyond the seeded ones, by card type. */
  extraFaceValues: Record<string, number[]>;
  /** Ring instances: their sellers, for the ring report. */
  rings: { instance: string; channel: ChannelLabel; sellers: string[] }[];
  summary: DaySummary;
}

export interface DaySummary {
  dayOrders: number;
  historyOrders: number;
  honestOrders: number;
  honestSellers: number;
  planted: Record<Pattern, { instances: number; orders: number; signatureOrders: number }>;
}

export interface DayOptions {
  seed?: string;
  /** Orders of the day (planted included; the history comes on top). */
  orders?: number;
  /** Start of the day, ms (default 2026-11-20 00:00 China time). */
  dayStart?: number;
}

export const DEFAULT_DAY_START = Date.UTC(2026, 10, 19, 16, 0, 0);
const HOUR = 3_600_000;
const MIN = 60_000;
const DAY = 24 * HOUR;
const yuan = (y: number) => y * 100;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: xmur3 string hash seeding sfc32.

function hashSeed(text: string): () => number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    h ^= h >>> 16;
    return h >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: string) {
    const next = hashSeed(seed);
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 15; i++) this.float();
  }
  /** Uniform in [0, 1). */
  float(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)] as T;
  }
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let x = this.float() * total;
    for (const [v, w] of items) {
      x -= w;
      if (x < 0) return v;
    }
    return (items.at(-1) as readonly [T, number])[0];
  }
  digits(n: number): string {
    let s = String(this.int(1, 9));
    while (s.length < n) s += String(this.int(0, 9));
    return s;
  }
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += '0123456789ABCDEF'[this.int(0, 15)];
    return s;
  }
  base58(n: number): string {
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    let s = '';
    while (s.length < n) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Card types: formats (as the seeded catalogue, docs/cards.md) and what honest sellers hand in.

const withCheckDigit = (body: string, valid: (s: string) => boolean): string => {
  for (let d = 0; d <= 9; d++) if (valid(`${body}${d}`)) return `${body}${d}`;
  throw new Error('no check digit fits');
};

interface TypeSpec {
  number: (r: Prng) => string;
  secret: (r: Prng) => string;
  /** Honest face values (yuan) and their weights. */
  faces: readonly (readonly [number, number])[];
  /** Share of honest orders. */
  share: number;
}

const PHONE_FACES = [
  [10, 2],
  [20, 5],
  [30, 15],
  [50, 36],
  [100, 37],
  [200, 3.5],
  [300, 1],
  [500, 0.5],
] as const;

export const TYPES: Record<string, TypeSpec> = {
  cmcc_national: { number: (r) => r.digits(17), secret: (r) => r.digits(18), faces: PHONE_FACES, share: 30 },
  cmcc_zhejiang: { number: (r) => r.digits(10), secret: (r) => r.digits(8), faces: PHONE_FACES, share: 4 },
  cmcc_jiangsu: { number: (r) => r.digits(16), secret: (r) => r.digits(17), faces: PHONE_FACES, share: 4 },
  cmcc_liaoning: { number: (r) => r.digits(16), secret: (r) => r.digits(21), faces: PHONE_FACES, share: 3 },
  unicom_national: {
    number: (r) => r.digits(15),
    secret: (r) => r.digits(19),
    faces: [
      [20, 5],
      [30, 15],
      [50, 36],
      [100, 40],
      [300, 3],
      [500, 1],
    ],
    share: 14,
  },
  telecom_national: {
    number: (r) => `${r.digits(3)}1${r.digits(15)}`,
    secret: (r) => r.digits(18),
    faces: [
      [50, 45],
      [100, 55],
    ],
    share: 10,
  },
  telecom_guangdong: {
    number: (r) => `${r.digits(3)}2${r.digits(15)}`,
    secret: (r) => r.digits(18),
    faces: [
      [50, 45],
      [100, 55],
    ],
    share: 5,
  },
  jd_ecard: {
    number: (r) => `JDV${r.digits(17)}`,
    secret: (r) => r.hex(16),
    faces: [
      [50, 10],
      [100, 30],
      [200, 20],
      [300, 10],
      [500, 20],
      [1000, 6],
      [2000, 2.5],
      [4500, 0.1],
      [4800, 0.1],
      [5000, 0.8],
    ],
    share: 18,
  },
  supermarket_gift: {
    number: (r) => withCheckDigit(r.digits(18), luhnValid),
    secret: (r) => r.digits(6),
    faces: [
      [100, 40],
      [200, 35],
      [500, 20],
      [1000, 5],
    ],
    share: 6,
  },
  sinopec_fuel: {
    number: (r) => withCheckDigit(r.digits(12), gtinValid),
    secret: (r) => r.digits(16),
    faces: [
      [100, 30],
      [200, 30],
      [500, 30],
      [1000, 10],
    ],
    share: 6,
  },
};
const PHONE_TYPES = [
  'cmcc_national',
  'cmcc_zhejiang',
  'cmcc_jiangsu',
  'cmcc_liaoning',
  'unicom_national',
  'telecom_national',
  'telecom_guangdong',
];
/** Face values (yuan) the seeded catalogue lacks; the replay adds them to jd_ecard before the day. */
const STRUCTURING_FACES = [4500, 4800, 4900];
/**
 * Face values (yuan) of the planted amount anomalies: values honest sellers of the day never hand in,
 * far above the type's usual ones (past 3σ, with the day's structuring cards counted in). Phone cards
 * have none: honest sellers use every denomination they have. The replay adds them to the catalogue
 * and prices them. Instances go round the (card type, value, channel) cells, so that one cell sees
 * one or two a day: a value handed in again and again is no anomaly, and the rule says so.
 */
const ANOMALY_FACES: Record<string, number[]> = {
  jd_ecard: [4000],
  supermarket_gift: [1500, 2000, 3000],
  sinopec_fuel: [1500, 2000, 3000],
};
/** Honest orders of the type a channel must have had that day before an amount anomaly is planted. */
const ANOMALY_AFTER = 40;

/** The honest face distribution's mean and standard deviation of a card type, in minor units. */
export function honestFaceStats(cardType: string): { mean: number; sd: number } {
  const faces = (TYPES[cardType] as TypeSpec).faces;
  const total = faces.reduce((s, [, w]) => s + w, 0);
  const mean = faces.reduce((s, [f, w]) => s + yuan(f) * w, 0) / total;
  const sq = faces.reduce((s, [f, w]) => s + (yuan(f) - mean) ** 2 * w, 0) / total;
  return { mean, sd: Math.sqrt(sq) };
}

// ---------------------------------------------------------------------------------------------

interface Seller {
  id: string;
  channel: ChannelLabel;
  city: City;
  registeredAt: number;
  devices: string[];
  address: string | null;
}

interface Draft {
  at: number;
  phase: 'history' | 'day';
  channel: ChannelLabel;
  card: DayCard;
  submittedSecret: string;
  seller: Seller;
  device: string;
  ip: string;
  address: string | null;
  after: Draft | null;
  label: OrderLabel;
}

/** Hourly weights of order time (China time, hour 0 = midnight). */
const DIURNAL = [
  3, 2, 1.2, 0.8, 0.6, 0.8, 1.5, 3, 5, 6.5, 7, 7, 6.5, 6, 6, 6, 6, 6, 6.5, 7, 7.5, 7.5, 6, 4.5,
];

class Builder {
  readonly r: Prng;
  readonly drafts: Draft[] = [];
  readonly cards: DayCard[] = [];
  private readonly numbers = new Set<string>();
  private readonly ips = new Set<string>();
  private serial = 0;
  constructor(
    readonly seed: string,
    readonly dayStart: number,
  ) {
    this.r = new Prng(seed);
  }

  id(prefix: string): string {
    return `${prefix}-${(++this.serial).toString(36)}`;
  }

  /** A time of day drawn from the diurnal curve, as an offset in ms. */
  timeOfDay(): number {
    const hour = this.r.weighted(DIURNAL.map((w, h) => [h, w] as const));
    return hour * HOUR + Math.floor(this.r.float() * HOUR);
  }

  ipIn(city: City): string {
    for (;;) {
      const ip = addressIn(this.r.pick(city.ranges), this.r.int(0, 2 ** 20));
      if (!this.ips.has(ip)) {
        this.ips.add(ip);
        return ip;
      }
    }
  }

  device(): string {
    return `dev-${this.r.hex(16).toLowerCase()}`;
  }

  address(): string {
    return `T${this.r.base58(33)}`;
  }

  seller(
    channel: ChannelLabel,
    opts: { city?: City; ageDays?: [number, number]; devices?: number } = {},
  ): Seller {
    const ageDays = opts.ageDays ?? [7, 1100];
    const age = ageDays[0] + this.r.float() * (ageDays[1] - ageDays[0]);
    return {
      id: this.id('s'),
      channel,
      city: opts.city ?? this.r.pick(CITIES),
      registeredAt: Math.floor(this.dayStart - age * DAY),
      devices: Array.from({ length: opts.devices ?? 1 }, () => this.device()),
      address: channel === 'crypto' ? this.address() : null,
    };
  }

  card(cardType: string, face: number, state: DayCard['state'] = 'valid'): DayCard {
    const spec = TYPES[cardType] as TypeSpec;
    let number = spec.number(this.r);
    while (this.numbers.has(number)) number = spec.number(this.r);
    this.numbers.add(number);
    const card = { cardType, number, secret: spec.secret(this.r), faceValue: face, state };
    this.cards.push(card);
    return card;
  }

  wrongSecret(card: DayCard): string {
    const spec = TYPES[card.cardType] as TypeSpec;
    let s = spec.secret(this.r);
    while (s === card.secret) s = spec.secret(this.r);
    return s;
  }

  honestType(preferred: string): string {
    if (this.r.chance(0.7)) return preferred;
    return this.r.weighted(Object.entries(TYPES).map(([t, s]) => [t, s.share] as const));
  }

  honestFace(cardType: string): number {
    return yuan(this.r.weighted((TYPES[cardType] as TypeSpec).faces));
  }

  push(
    seller: Seller,
    at: number,
    card: DayCard,
    label: OrderLabel,
    extra: Partial<Pick<Draft, 'device' | 'ip' | 'address' | 'submittedSecret' | 'after' | 'phase'>> = {},
  ): Draft {
    const phase = extra.phase ?? 'day';
    const d: Draft = {
      // A day order stays inside the day.
      at: phase === 'day' ? this.clampDay(at - this.dayStart) : at,
      phase,
      channel: seller.channel,
      card,
      submittedSecret: extra.submittedSecret ?? card.secret,
      seller,
      device: extra.device ?? (seller.devices[0] as string),
      ip: extra.ip ?? this.ipIn(seller.city),
      address: extra.address === undefined ? seller.address : extra.address,
      after: extra.after ?? null,
      label,
    };
    this.drafts.push(d);
    return d;
  }

  /** A time `offset` into the day, kept inside it. */
  clampDay(offset: number): number {
    return this.dayStart + Math.max(0, Math.min(DAY - 1000, offset));
  }
}

/** Face values (yuan) of both lists by card type, as minor units, each once. */
function mergeFaces(...lists: Record<string, number[]>[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const list of lists)
    for (const [type, faces] of Object.entries(list))
      out[type] = [...new Set([...(out[type] ?? []), ...faces.map(yuan)])];
  return out;
}

const honest = (note?: string): OrderLabel => ({
  pattern: 'honest',
  instance: null,
  signature: false,
  ...(note ? { note } : {}),
});

/** Instances per pattern for a day of 50,000 orders; scaled with the day, at least 5 each. */
const INSTANCES_AT_50K: Record<Pattern, number> = {
  card_testing: 60,
  velocity: 36,
  geo_jump: 40,
  amount_anomaly: 40,
  structuring: 30,
  new_account_high_value: 40,
  device_mismatch: 40,
  ring: 10,
};

export function generateDay(options: DayOptions = {}): SyntheticDay {
  const seed = options.seed ?? 'recard-risk-day';
  const total = options.orders ?? 50_000;
  const dayStart = options.dayStart ?? DEFAULT_DAY_START;
  const b = new Builder(seed, dayStart);
  const r = b.r;
  const instances = (p: Pattern) => Math.max(5, Math.round((INSTANCES_AT_50K[p] * total) / 50_000));
  const channelOf = (): ChannelLabel =>
    r.weighted([
      ['shop', 45],
      ['mall', 35],
      ['crypto', 20],
    ] as const);
  const smallPhone = () => {
    const t = r.pick(PHONE_TYPES);
    return b.card(t, yuan(r.pick(t.startsWith('telecom') ? [50, 100] : [30, 50, 100])));
  };

  // --- planted patterns ----------------------------------------------------------------------
  const ringInfo: SyntheticDay['rings'] = [];
  const plant = (p: Pattern, build: (instance: string) => void) => {
    for (let i = 1; i <= instances(p); i++) build(`${p}#${i}`);
  };

  plant('card_testing', (instance) => {
    // One number, several secrets: each try waits for the issuer's "wrong secret" (invalid) before
    // the next. The first two look like a seller's typos; the 3rd and later are the signature.
    const s = b.seller(channelOf(), { ageDays: [0, 400] });
    const card = b.card(r.pick([...PHONE_TYPES, 'jd_ecard']), yuan(100));
    const tries = r.int(3, 5);
    let t = b.clampDay(b.timeOfDay());
    if (t > dayStart + DAY - 10 * MIN) t -= 10 * MIN;
    let prev: Draft | null = null;
    const ip = b.ipIn(s.city);
    for (let k = 1; k <= tries; k++) {
      prev = b.push(
        s,
        t,
        card,
        { pattern: 'card_testing', instance, signature: k >= 3, note: `try ${k}` },
        {
          submittedSecret: b.wrongSecret(card),
          after: prev,
          ip,
        },
      );
      t += r.int(40, 95) * 1000;
    }
  });

  const VELOCITY_KINDS = ['seller', 'device', 'ip', 'destination', 'amount_hour', 'seller_day'] as const;
  let velocitySerial = 0;
  plant('velocity', (instance) => {
    const kind = VELOCITY_KINDS[velocitySerial++ % VELOCITY_KINDS.length] as (typeof VELOCITY_KINDS)[number];
    const note = `velocity:${kind}`;
    const start = b.clampDay(
      (kind === 'seller_day' ? r.int(5, 6) : r.int(8, 15)) * HOUR + r.int(0, 59) * MIN,
    );
    const group: Draft[] = [];
    if (kind === 'seller' || kind === 'amount_hour' || kind === 'seller_day') {
      const s = b.seller(channelOf());
      const ip = b.ipIn(s.city);
      const n = kind === 'seller' ? r.int(26, 32) : kind === 'amount_hour' ? r.int(8, 12) : r.int(105, 115);
      let t = start;
      for (let k = 0; k < n; k++) {
        const card = kind === 'amount_hour' ? b.card('jd_ecard', yuan(r.pick([1000, 2000]))) : smallPhone();
        group.push(b.push(s, t, card, { pattern: 'velocity', instance, signature: false, note }, { ip }));
        t +=
          kind === 'seller'
            ? r.int(60, 130) * 1000
            : kind === 'amount_hour'
              ? r.int(180, 330) * 1000
              : r.int(360, 500) * 1000;
      }
    } else {
      // Several accounts behind one device, one address or one payout destination.
      const channel: ChannelLabel = kind === 'destination' ? 'crypto' : channelOf();
      const city = r.pick(CITIES);
      const accounts = Array.from({ length: r.int(4, 6) }, () => b.seller(channel, { city }));
      const sharedDevice = b.device();
      const sharedIp = b.ipIn(city);
      const sharedAddress = b.address();
      const n = r.int(26, 30);
      let t = start;
      for (let k = 0; k < n; k++) {
        const s = accounts[k % accounts.length] as Seller;
        const extra = {
          ...(kind === 'device' ? { device: sharedDevice } : {}),
          ...(kind === 'ip' ? { ip: sharedIp } : {}),
          ...(kind === 'destination' ? { address: sharedAddress } : {}),
        };
        group.push(
          b.push(s, t, smallPhone(), { pattern: 'velocity', instance, signature: false, note }, extra),
        );
        t += r.int(70, 125) * 1000;
      }
    }
    // Signature: the orders past a limit in the hour or day before them (inclusive), for the subject.
    for (let i = 0; i < group.length; i++) {
      const d = group[i] as Draft;
      const hour = group.slice(0, i + 1).filter((x) => x.at > d.at - HOUR);
      const day = group.slice(0, i + 1).filter((x) => x.at > d.at - DAY);
      const sum = (xs: Draft[]) => xs.reduce((s, x) => s + x.card.faceValue, 0);
      d.label.signature =
        hour.length > VELOCITY.hour.orders ||
        sum(hour) > VELOCITY.hour.amount ||
        day.length > VELOCITY.day.orders ||
        sum(day) > VELOCITY.day.amount;
    }
  });

  plant('geo_jump', (instance) => {
    const s = b.seller(channelOf());
    const far = CITIES.filter((c) => distanceKm(c, s.city) > 800);
    const to = r.pick(far);
    let t = b.clampDay(r.int(7, 14) * HOUR + r.int(0, 59) * MIN);
    const before = r.int(2, 4);
    for (let k = 0; k < before; k++) {
      b.push(s, t, smallPhone(), {
        pattern: 'geo_jump',
        instance,
        signature: false,
        note: `in ${s.city.code}`,
      });
      t += r.int(3, 15) * MIN;
    }
    t += r.int(40, 240) * MIN;
    const after = r.int(1, 3);
    for (let k = 0; k < after; k++) {
      b.push(
        s,
        b.clampDay(t - dayStart),
        smallPhone(),
        {
          pattern: 'geo_jump',
          instance,
          signature: k === 0,
          note: `jump ${s.city.code}→${to.code}`,
        },
        { ip: b.ipIn(to) },
      );
      t += r.int(3, 15) * MIN;
    }
  });

  const anomalyCells = Object.entries(ANOMALY_FACES).flatMap(([type, faces]) =>
    faces.flatMap((face) => CHANNEL_LABELS.map((channel) => ({ type, face: yuan(face), channel }))),
  );
  const anomalyOrder = anomalyCells.map((cell) => ({ cell, k: r.float() })).sort((x, y) => x.k - y.k);
  let anomalySerial = 0;
  plant('amount_anomaly', (instance) => {
    // A card far above anything this card type fetches from honest sellers, after the channel has
    // seen enough of the type: the assembly below moves it after the channel's 40th honest order of it.
    const { cell } = anomalyOrder[anomalySerial++ % anomalyOrder.length] as (typeof anomalyOrder)[number];
    const { mean, sd } = honestFaceStats(cell.type);
    if (cell.face <= mean + 3 * sd) throw new Error(`anomaly face ${cell.face} of ${cell.type} within 3σ`);
    const s = b.seller(cell.channel);
    let t = b.clampDay(r.int(10, 17) * HOUR + r.int(0, 59) * MIN);
    for (let k = r.int(1, 3); k > 0; k--) {
      b.push(s, t, b.card(cell.type, b.honestFace(cell.type)), {
        pattern: 'amount_anomaly',
        instance,
        signature: false,
      });
      t += r.int(30, 90) * MIN;
    }
    b.push(s, b.clampDay(t - dayStart), b.card(cell.type, cell.face), {
      pattern: 'amount_anomaly',
      instance,
      signature: true,
    });
  });

  plant('structuring', (instance) => {
    // Cards just under ¥5,000 all day long (450,000–499,999), kept apart in time.
    const s = b.seller(channelOf());
    const n = r.int(3, 5);
    let t = b.clampDay(r.int(8, 11) * HOUR + r.int(0, 59) * MIN);
    for (let k = 1; k <= n; k++) {
      b.push(s, b.clampDay(t - dayStart), b.card('jd_ecard', yuan(r.pick(STRUCTURING_FACES))), {
        pattern: 'structuring',
        instance,
        signature: k >= 3,
      });
      t += r.int(70, 170) * MIN;
    }
  });

  plant('new_account_high_value', (instance) => {
    const s = b.seller(channelOf(), { ageDays: [0.05, 5.5] });
    let t = b.clampDay(b.timeOfDay());
    if (r.chance(0.5)) {
      b.push(s, t, smallPhone(), { pattern: 'new_account_high_value', instance, signature: false });
      t += r.int(5, 60) * MIN;
    }
    for (let k = r.int(1, 2); k > 0; k--) {
      b.push(s, b.clampDay(t - dayStart), b.card('jd_ecard', yuan(r.pick([2000, 5000]))), {
        pattern: 'new_account_high_value',
        instance,
        signature: true,
      });
      t += r.int(5, 60) * MIN;
    }
  });

  plant('device_mismatch', (instance) => {
    // An established account suddenly on a phone it never used (a taken-over account).
    const s = b.seller(channelOf(), { ageDays: [30, 900] });
    let t = b.clampDay(r.int(6, 12) * HOUR + r.int(0, 59) * MIN);
    for (let k = r.int(2, 4); k > 0; k--) {
      b.push(s, t, smallPhone(), {
        pattern: 'device_mismatch',
        instance,
        signature: false,
        note: 'known device',
      });
      t += r.int(10, 90) * MIN;
    }
    const stranger = b.device();
    for (let k = 0, n = r.int(1, 3); k < n; k++) {
      b.push(
        s,
        b.clampDay(t - dayStart),
        smallPhone(),
        {
          pattern: 'device_mismatch',
          instance,
          signature: k === 0,
          note: 'new device',
        },
        { device: stranger },
      );
      t += r.int(5, 40) * MIN;
    }
  });

  plant('ring', (instance) => {
    // Accounts sharing two phones, two addresses and (on crypto) payout destinations; some of their
    // cards are already used. Caught by the periodic ring job, not at intake: no signature orders.
    const channel: ChannelLabel = r.chance(0.5) ? 'crypto' : 'shop';
    const city = r.pick(CITIES);
    const devices = [b.device(), b.device()];
    const ips = [b.ipIn(city), b.ipIn(city)];
    const addresses = [b.address(), b.address()];
    const members = Array.from({ length: r.int(4, 6) }, () => b.seller(channel, { city }));
    for (const s of members) {
      for (let k = r.int(3, 7); k > 0; k--) {
        const used = r.chance(0.25);
        const t = b.clampDay(b.timeOfDay());
        const card = b.card(r.pick(PHONE_TYPES), yuan(r.pick([50, 100])), used ? 'used' : 'valid');
        b.push(
          s,
          t,
          card,
          { pattern: 'ring', instance, signature: false, ...(used ? { note: 'used card' } : {}) },
          {
            device: r.pick(devices),
            ip: r.pick(ips),
            address: channel === 'crypto' ? r.pick(addresses) : null,
          },
        );
      }
    }
    ringInfo.push({ instance, channel, sellers: members.map((m) => m.id) });
  });

  // --- honest traffic ------------------------------------------------------------------------
  let honestBudget = total - b.drafts.length;
  if (honestBudget < 0) honestBudget = 0;
  let honestSellers = 0;
  let historySerial = 0;
  while (honestBudget > 0) {
    honestSellers++;
    const channel = channelOf();
    const highVolume = r.chance(0.003);
    const twoDevices = !highVolume && r.chance(0.08);
    const s = b.seller(channel, {
      ageDays: r.chance(0.05) ? [0.05, 6.9] : [7, 1500],
      devices: twoDevices ? 2 : 1,
    });
    const preferred = highVolume
      ? r.pick(PHONE_TYPES)
      : r.weighted(Object.entries(TYPES).map(([t, sp]) => [t, sp.share] as const));
    // Orders of this seller today: most sell a card or two, a few sell dozens.
    let n = highVolume ? r.int(60, 95) : Math.min(30, 1 + Math.floor(-Math.log(1 - r.float()) * 3));
    n = Math.min(n, honestBudget);
    honestBudget -= n;
    const times: number[] = [];
    if (highVolume) {
      // A phone-card dealer's shop: one line, paced by customers (≤ 18 an hour), on the shop's line.
      let t = r.int(8, 10) * HOUR + r.int(0, 59) * MIN;
      for (let k = 0; k < n; k++) {
        times.push(t);
        t += r.int(200, 420) * 1000;
      }
    } else {
      const sessions = Math.min(n, r.int(1, 3));
      const per = Math.ceil(n / sessions);
      for (let sIdx = 0; sIdx < sessions; sIdx++) {
        const count = Math.min(per, n - times.length);
        const gaps = Array.from({ length: count }, () => r.int(60, 600) * 1000);
        const length = gaps.reduce((a, g) => a + g, 0);
        let t = Math.min(b.timeOfDay(), DAY - length - 1000);
        for (let k = 0; k < count; k++) {
          times.push(Math.max(0, t));
          t += gaps[k] as number;
        }
      }
    }
    times.sort((x, y) => x - y);
    const lineIp = highVolume ? b.ipIn(s.city) : null;
    // A rare honest seller changes phone during the day (a false positive the device rule may make).
    const changeAt = n >= 3 && r.chance(0.002) ? r.int(1, n - 1) : -1;
    const newPhone = changeAt >= 0 ? b.device() : null;
    let sessionIp = lineIp ?? b.ipIn(s.city);
    for (let k = 0; k < times.length; k++) {
      const t = b.clampDay(times[k] as number);
      if (!lineIp && k > 0 && (times[k] as number) - (times[k - 1] as number) > 30 * MIN)
        sessionIp = b.ipIn(s.city);
      const type = b.honestType(preferred);
      const rare = r.float();
      const card = b.card(
        type,
        b.honestFace(type),
        rare < 0.004 ? 'used' : rare < 0.006 ? 'expired' : 'valid',
      );
      const device =
        newPhone && k >= changeAt
          ? newPhone
          : twoDevices
            ? (s.devices[k % 2] as string)
            : (s.devices[0] as string);
      const note =
        newPhone && k === changeAt
          ? 'device_change'
          : card.state !== 'valid'
            ? `card_${card.state}`
            : undefined;
      if (card.state === 'valid' && r.chance(0.003)) {
        // A typo first: the issuer says wrong secret, the seller types it again a minute later.
        const typo = b.push(s, Math.max(dayStart, t - r.int(40, 120) * 1000), card, honest('typo'), {
          submittedSecret: b.wrongSecret(card),
          device,
          ip: sessionIp,
        });
        b.push(s, t, card, honest(note), { device, ip: sessionIp, after: typo });
        honestBudget = Math.max(0, honestBudget - 1);
      } else {
        b.push(s, t, card, honest(note), { device, ip: sessionIp });
      }
    }
    if (twoDevices) {
      // History: the seller already used both phones two days before, so neither is new today.
      for (const device of s.devices) {
        // Packed two seconds apart at noon two days before: the replay's clock need not run far.
        const t = dayStart - 2 * DAY + 12 * HOUR + historySerial++ * 2000;
        b.push(s, t, b.card(preferred, b.honestFace(preferred)), honest('history'), {
          device,
          phase: 'history',
        });
      }
    }
  }

  // --- assemble ------------------------------------------------------------------------------
  const sorted = b.drafts
    .map((d, i) => ({ d, i }))
    .sort((x, y) => x.d.at - y.d.at || x.i - y.i)
    .map((x) => x.d);
  // An amount anomaly comes after the channel's 40th honest order of its type (its statistics need 30).
  for (const d of sorted) {
    if (d.label.pattern !== 'amount_anomaly' || !d.label.signature) continue;
    const earlier = sorted.filter(
      (x) =>
        x.phase === 'day' &&
        x.label.pattern === 'honest' &&
        x.channel === d.channel &&
        x.card.cardType === d.card.cardType,
    );
    const enough = earlier[ANOMALY_AFTER - 1];
    if (enough && enough.at >= d.at) d.at = Math.min(dayStart + DAY - 1000, enough.at + 1000);
    // A small day may never give the channel 40 of the type: no rule could judge it, no signature.
    if (!enough) d.label = { ...d.label, signature: false, note: 'too_few_of_type' };
  }
  // A retry goes after the try it waits for.
  for (const d of sorted) if (d.after && d.after.at >= d.at) d.at = d.after.at + 1000;
  sorted.sort((x, y) => x.at - y.at);
  const indexOf = new Map<Draft, number>();
  for (const [i, d] of sorted.entries()) indexOf.set(d, i);
  const orders: DayOrder[] = sorted.map((d, index) => ({
    index,
    at: d.at,
    phase: d.phase,
    channel: d.channel,
    merchantOrderId: `rr-${index.toString(36)}-${d.card.number.slice(-4)}`,
    cardType: d.card.cardType,
    cardNumber: d.card.number,
    submittedSecret: d.submittedSecret,
    declaredFaceValue: d.card.faceValue,
    sellerId: d.seller.id,
    userId: `u${d.seller.id.slice(1)}`,
    userRegisteredAt: d.seller.registeredAt,
    deviceId: d.device,
    clientIp: d.ip,
    blockchainAddress: d.channel === 'crypto' ? d.address : null,
    after: d.after ? (indexOf.get(d.after) as number) : null,
    label: d.label,
  }));

  const planted = Object.fromEntries(
    PATTERNS.map((p) => {
      const of = orders.filter((o) => o.label.pattern === p);
      return [
        p,
        {
          instances: new Set(of.map((o) => o.label.instance)).size,
          orders: of.length,
          signatureOrders: of.filter((o) => o.label.signature).length,
        },
      ];
    }),
  ) as DaySummary['planted'];
  const day = orders.filter((o) => o.phase === 'day');
  return {
    seed,
    dayStart,
    orders,
    cards: b.cards,
    extraFaceValues: mergeFaces({ jd_ecard: STRUCTURING_FACES }, ANOMALY_FACES),
    rings: ringInfo,
    summary: {
      dayOrders: day.length,
      historyOrders: orders.length - day.length,
      honestOrders: day.filter((o) => o.label.pattern === 'honest').length,
      honestSellers,
      planted,
    },
  };
}
