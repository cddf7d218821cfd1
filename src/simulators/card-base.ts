import { createHash } from 'node:crypto';
import { gtinValid, luhnValid } from '../modules/cards/index.js';

/**
 * The simulated issuers' card base, generated from a seed: the same seed gives the same cards, so
 * tests, the demo and docs/test-cards.md can name them. Formats follow the seeded catalogue
 * (migration 0002); the simulators are issuers and know their own cards.
 */

export const SIM_CARD_STATES = ['valid', 'used', 'expired', 'unactivated'] as const;
export type SimCardState = (typeof SIM_CARD_STATES)[number];

/** Why a card is in the base: what a tester can expect from it. */
export const SIM_CARD_LABELS = [...SIM_CARD_STATES, 'wrong_face_value'] as const;
export type SimCardLabel = (typeof SIM_CARD_LABELS)[number];

export interface SimCard {
  cardType: string;
  number: string;
  secret: string;
  /** The card's real face value (fen). */
  faceValue: number;
  balance: number;
  state: SimCardState;
  expiresOn: string;
  label: SimCardLabel;
  /** What a seller would declare for this card; differs from faceValue for `wrong_face_value` cards. */
  declaredFaceValue: number;
}

interface Format {
  issuer: string;
  number: (r: SeededRandom) => string;
  secret: (r: SeededRandom) => string;
  faces: number[];
}

const yuan = (...v: number[]) => v.map((x) => x * 100);
const withCheckDigit = (body: string, valid: (s: string) => boolean): string => {
  for (let d = 0; d <= 9; d++) if (valid(`${body}${d}`)) return `${body}${d}`;
  throw new Error('no check digit fits');
};

/** Card formats by card type code, grouped by the issuer that serves them. */
export const SIM_FORMATS: Record<string, Format> = {
  cmcc_national: {
    issuer: 'china_mobile',
    number: (r) => r.digits(17),
    secret: (r) => r.digits(18),
    faces: yuan(30, 50, 100),
  },
  cmcc_zhejiang: {
    issuer: 'china_mobile',
    number: (r) => r.digits(10),
    secret: (r) => r.digits(8),
    faces: yuan(50, 100),
  },
  cmcc_jiangsu: {
    issuer: 'china_mobile',
    number: (r) => r.digits(16),
    secret: (r) => r.digits(17),
    faces: yuan(50, 100),
  },
  cmcc_liaoning: {
    issuer: 'china_mobile',
    number: (r) => r.digits(16),
    secret: (r) => r.digits(21),
    faces: yuan(50, 100),
  },
  unicom_national: {
    issuer: 'china_unicom',
    number: (r) => r.digits(15),
    secret: (r) => r.digits(19),
    faces: yuan(50, 100),
  },
  telecom_national: {
    issuer: 'china_telecom',
    number: (r) => `${r.digits(3)}1${r.digits(15)}`,
    secret: (r) => r.digits(18),
    faces: yuan(50, 100),
  },
  telecom_guangdong: {
    issuer: 'china_telecom',
    number: (r) => `${r.digits(3)}2${r.digits(15)}`,
    secret: (r) => r.digits(18),
    faces: yuan(50, 100),
  },
  jd_ecard: {
    issuer: 'jd',
    number: (r) => `JDV${r.digits(17)}`,
    secret: (r) => r.hex(16),
    faces: yuan(100, 500),
  },
  supermarket_gift: {
    issuer: 'supermarket_chain',
    number: (r) => withCheckDigit(r.digits(18), luhnValid),
    secret: (r) => r.digits(6),
    faces: yuan(100, 200),
  },
  sinopec_fuel: {
    issuer: 'sinopec',
    number: (r) => withCheckDigit(r.digits(12), gtinValid),
    secret: (r) => r.digits(16),
    faces: yuan(100, 500),
  },
};

/** A deterministic stream of bytes from a seed (SHA-256 in counter mode); not for secrets. */
export class SeededRandom {
  private buffer = Buffer.alloc(0);
  private offset = 0;
  private counter = 0;
  constructor(private readonly seed: string) {}

  private byte(): number {
    if (this.offset >= this.buffer.length) {
      this.buffer = createHash('sha256')
        .update(`${this.seed}:${this.counter++}`)
        .digest();
      this.offset = 0;
    }
    return this.buffer[this.offset++] as number;
  }
  /** An integer in [0, n), n ≤ 256. */
  below(n: number): number {
    const limit = 256 - (256 % n);
    // Rejection sampling; a byte is refused with probability < 1/2, so 64 tries fail with < 2^-64.
    for (let tries = 0; tries < 64; tries++) {
      const b = this.byte();
      if (b < limit) return b % n;
    }
    throw new Error('seeded random stream produced 64 rejected bytes in a row');
  }
  digits(n: number): string {
    let s = String(1 + this.below(9));
    while (s.length < n) s += String(this.below(10));
    return s;
  }
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += '0123456789ABCDEF'[this.below(16)];
    return s;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
}

export interface CardBaseOptions {
  seed: string;
  /** Cards per card type and label. */
  perLabel?: Partial<Record<SimCardLabel, number>>;
  /** Only these card types (default: all). */
  cardTypes?: string[];
}

export const DEFAULT_SEED = 'recard-demo';
const DEFAULT_PER_LABEL: Record<SimCardLabel, number> = {
  valid: 20,
  used: 3,
  expired: 3,
  unactivated: 3,
  wrong_face_value: 3,
};

export function generateCardBase(options: CardBaseOptions): SimCard[] {
  const per = { ...DEFAULT_PER_LABEL, ...options.perLabel };
  const cards: SimCard[] = [];
  const seen = new Set<string>();
  for (const [cardType, format] of Object.entries(SIM_FORMATS)) {
    if (options.cardTypes && !options.cardTypes.includes(cardType)) continue;
    const r = new SeededRandom(`${options.seed}:${cardType}`);
    for (const label of SIM_CARD_LABELS) {
      for (let i = 0; i < per[label]; i++) {
        let number = format.number(r);
        while (seen.has(number)) number = format.number(r);
        seen.add(number);
        const faceValue = r.pick(format.faces);
        const other = format.faces.find((f) => f !== faceValue) ?? faceValue * 2;
        const state: SimCardState = label === 'wrong_face_value' ? 'valid' : label;
        cards.push({
          cardType,
          number,
          secret: format.secret(r),
          faceValue,
          balance: state === 'used' ? 0 : faceValue,
          state,
          expiresOn: state === 'expired' ? '2025-12-31' : '2029-12-31',
          label,
          declaredFaceValue: label === 'wrong_face_value' ? other : faceValue,
        });
      }
    }
  }
  return cards;
}

/** The issuers the simulators play, and the card types each serves. */
export function issuersOf(cards: SimCard[]): Map<string, SimCard[]> {
  const by = new Map<string, SimCard[]>();
  for (const c of cards) {
    const issuer = SIM_FORMATS[c.cardType]?.issuer ?? 'unknown';
    const list = by.get(issuer) ?? [];
    list.push(c);
    by.set(issuer, list);
  }
  return by;
}
