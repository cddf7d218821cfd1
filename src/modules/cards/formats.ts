import { matchesPattern } from './patterns.js';

/**
 * Card number and secret rules, pure. Numbers and secrets are accepted as printed on the card
 * (spaces, dashes, lower case) and compared in one canonical form.
 */
export const CHECKSUMS = ['none', 'luhn', 'gtin'] as const;
export type Checksum = (typeof CHECKSUMS)[number];

export interface CardRules {
  number_pattern: string;
  secret_pattern: string;
  checksum: Checksum;
}

/** Longest number or secret looked at; longer input is refused before any pattern runs. */
export const MAX_CARD_FIELD_LENGTH = 64;

export function normaliseCardField(raw: string): string {
  return raw.replace(/[\s-]+/g, '').toUpperCase();
}

/** Luhn (mod 10) over the whole number, check digit last. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** GTIN-8/12/13/14 check digit: weights 3,1,3,… from the right, excluding the check digit. */
export function gtinValid(digits: string): boolean {
  if (!/^(\d{8}|\d{12}|\d{13}|\d{14})$/.test(digits)) return false;
  const body = digits.slice(0, -1);
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10 === Number(digits.at(-1));
}

export type CardCheck =
  | { ok: true; number: string; secret: string }
  | { ok: false; field: 'card_number' | 'card_secret'; reason: 'format' | 'checksum' };

export function checkCard(rules: CardRules, rawNumber: string, rawSecret: string): CardCheck {
  const number = normaliseCardField(rawNumber);
  const secret = normaliseCardField(rawSecret);
  if (number.length > MAX_CARD_FIELD_LENGTH || !matchesPattern(rules.number_pattern, number)) {
    return { ok: false, field: 'card_number', reason: 'format' };
  }
  if (rules.checksum === 'luhn' && !luhnValid(number))
    return { ok: false, field: 'card_number', reason: 'checksum' };
  if (rules.checksum === 'gtin' && !gtinValid(number))
    return { ok: false, field: 'card_number', reason: 'checksum' };
  if (secret.length > MAX_CARD_FIELD_LENGTH || !matchesPattern(rules.secret_pattern, secret)) {
    return { ok: false, field: 'card_secret', reason: 'format' };
  }
  return { ok: true, number, secret };
}

/** What the API shows of a card number: the last four characters. */
export function maskCardNumber(number: string): string {
  return maskFromLast4(number.slice(-4), number.length);
}

/** The same mask from what an order keeps of the number: its last four characters and its length. */
export function maskFromLast4(last4: string, length: number): string {
  return `${'*'.repeat(Math.max(length - 4, 0))}${last4}`;
}
