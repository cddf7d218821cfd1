import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCard, gtinValid, luhnValid, maskCardNumber, normaliseCardField } from './formats.js';

/** Appends the digit that makes `body` pass `valid`: the one generator both checksums share. */
function withCheckDigit(body: string, valid: (s: string) => boolean): string {
  for (let d = 0; d <= 9; d++) if (valid(`${body}${d}`)) return `${body}${d}`;
  throw new Error('no check digit');
}

const digits = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

describe('checksums', () => {
  it('Luhn: known values', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('12a4')).toBe(false);
  });

  it('Luhn: exactly one check digit fits, and any single changed digit is caught', () => {
    fc.assert(
      fc.property(digits(1, 30), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const number = withCheckDigit(body, luhnValid);
        expect(luhnValid(number)).toBe(true);
        const i = at % number.length;
        const changed = `${number.slice(0, i)}${(Number(number[i]) + delta) % 10}${number.slice(i + 1)}`;
        expect(luhnValid(changed)).toBe(false);
      }),
    );
  });

  it('GTIN: known values and lengths', () => {
    expect(gtinValid('4006381333931')).toBe(true); // GTIN-13
    expect(gtinValid('4006381333932')).toBe(false);
    expect(gtinValid('036000291452')).toBe(true); // GTIN-12 (UPC-A)
    expect(gtinValid('96385074')).toBe(true); // GTIN-8
    expect(gtinValid('400638133393')).toBe(false); // the GTIN-13 without its check digit
    expect(gtinValid('123456789')).toBe(false); // no such length
  });

  it('GTIN: any single changed digit is caught', () => {
    fc.assert(
      fc.property(digits(12, 12), fc.nat(), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        const number = withCheckDigit(body, gtinValid);
        const i = at % number.length;
        const changed = `${number.slice(0, i)}${(Number(number[i]) + delta) % 10}${number.slice(i + 1)}`;
        expect(gtinValid(changed)).toBe(false);
      }),
    );
  });
});

describe('checkCard', () => {
  const telecom = {
    number_pattern: '^\\d{3}1\\d{15}$',
    secret_pattern: '^\\d{18}$',
    checksum: 'none' as const,
  };
  const jd = {
    number_pattern: '^(JDV\\d{17}|[A-Z0-9]{16})$',
    secret_pattern: '^[0-9A-F]{16}$',
    checksum: 'none' as const,
  };
  const supermarket = { number_pattern: '^\\d{19}$', secret_pattern: '^\\d{6}$', checksum: 'luhn' as const };

  it('accepts numbers and secrets as printed: spaces, dashes and lower case', () => {
    expect(normaliseCardField(' 1234-5678 9012\t')).toBe('123456789012');
    expect(checkCard(jd, 'jdv 1234 5678 9012 3456 7', 'ab12-cd34-ef56-7890')).toEqual({
      ok: true,
      number: 'JDV12345678901234567',
      secret: 'AB12CD34EF567890',
    });
  });

  it('names the field at fault and why', () => {
    expect(checkCard(telecom, '1232000000000000000', '1'.repeat(18))).toEqual({
      ok: false,
      field: 'card_number',
      reason: 'format',
    });
    expect(checkCard(telecom, '1231000000000000000', '1'.repeat(17))).toEqual({
      ok: false,
      field: 'card_secret',
      reason: 'format',
    });
    const good = withCheckDigit('1'.repeat(18), luhnValid);
    expect(checkCard(supermarket, good, '123456').ok).toBe(true);
    const bad = `${good.slice(0, -1)}${(Number(good.at(-1)) + 1) % 10}`;
    expect(checkCard(supermarket, bad, '123456')).toEqual({
      ok: false,
      field: 'card_number',
      reason: 'checksum',
    });
  });

  it('refuses overlong input before running a pattern', () => {
    expect(checkCard({ ...jd, number_pattern: '^.*$' }, 'A'.repeat(65), '0'.repeat(16)).ok).toBe(false);
  });

  it('masks all but the last four characters', () => {
    expect(maskCardNumber('12345678901234567')).toBe('*************4567');
    expect(maskCardNumber('123')).toBe('123');
  });
});
