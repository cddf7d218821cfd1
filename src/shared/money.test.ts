import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add,
  amountNumber,
  convert,
  formatMoney,
  invertRate,
  money,
  parseDecimalRate,
  shareAt,
  subtract,
} from './money.js';

describe('money', () => {
  it('keeps the currency beside the amount and refuses to mix currencies', () => {
    expect(add(money(100, 'CNY'), money(5, 'CNY'))).toEqual({ amount: 105n, currency: 'CNY' });
    expect(subtract(money(100, 'CNY'), money(5, 'CNY')).amount).toBe(95n);
    expect(() => add(money(1, 'CNY'), money(1, 'USD'))).toThrow(/CNY with USD/);
    expect(() => money(1.5, 'CNY')).toThrow(/integers/);
  });

  it('sums beyond 2^53 exactly, and refuses to squeeze them into a JSON number', () => {
    const big = money(Number.MAX_SAFE_INTEGER, 'CNY');
    const sum = add(big, big);
    expect(sum.amount).toBe(2n * BigInt(Number.MAX_SAFE_INTEGER));
    expect(() => amountNumber(sum)).toThrow(/JSON integer/);
    expect(amountNumber(big)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('formats with the minor unit of the currency', () => {
    expect(formatMoney(money(9500, 'CNY'))).toBe('95.00 CNY');
    expect(formatMoney(money(5, 'CNY'))).toBe('0.05 CNY');
    expect(formatMoney(money(13_101_640, 'USDT'))).toBe('13.101640 USDT');
    expect(formatMoney(money(-150, 'USD'))).toBe('-1.50 USD');
  });

  it('takes shares in basis points rounded down', () => {
    expect(shareAt(money(10_000, 'CNY'), 9_550).amount).toBe(9_550n);
    expect(shareAt(money(999, 'CNY'), 9_550).amount).toBe(954n); // 954.045 → 954
    expect(shareAt(money(1, 'CNY'), 9_999).amount).toBe(0n);
    expect(() => shareAt(money(1, 'CNY'), 10_001)).toThrow(/bps/);
    expect(() => shareAt(money(-1, 'CNY'), 1)).toThrow(/non-negative/);
  });

  it('never rounds a share up: share ≤ exact value < share + 1 minor unit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), (a, bps) => {
        const s = shareAt({ amount: a, currency: 'CNY' }, bps).amount;
        expect(s * 10_000n <= a * BigInt(bps)).toBe(true);
        expect((s + 1n) * 10_000n > a * BigInt(bps)).toBe(true);
      }),
    );
  });
});

describe('exact rates', () => {
  it('parses decimals without floats and refuses anything else', () => {
    expect(parseDecimalRate('7.2512')).toEqual({ num: 72_512n, den: 10_000n });
    expect(parseDecimalRate('0.000000000001')).toEqual({ num: 1n, den: 10n ** 12n });
    for (const bad of ['', '0', '0.000', '-1', '1e3', '1.', '.5', '01.5', ' 1', '1.0000000000001', 'NaN'])
      expect(() => parseDecimalRate(bad), bad).toThrow(RangeError);
  });

  it('converts across minor units exactly and rounds down to the target currency', () => {
    // 95.00 CNY at 0.137912 USDT per CNY = 13.101640 USDT exactly.
    expect(convert(money(9_500, 'CNY'), parseDecimalRate('0.137912'), 'USDT')).toEqual(
      money(13_101_640, 'USDT'),
    );
    // 95.00 CNY at 1/7.2512 USDT per CNY = 13.1012797… USDT → 13.101279.
    const perCny = invertRate(parseDecimalRate('7.2512'));
    expect(convert(money(9_500, 'CNY'), perCny, 'USDT')).toEqual(money(13_101_279, 'USDT'));
    // A float would say 0.1 + 0.2 ≠ 0.3; here 0.3 USD per unit of 1.00 CNY is exactly 30 cents.
    expect(convert(money(100, 'CNY'), parseDecimalRate('0.3'), 'USD').amount).toBe(30n);
  });

  it('a conversion is the exact value rounded down, never more', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 10n ** 14n }),
        fc.integer({ min: 0, max: 12 }),
        (a, num, places) => {
          const rate = { num, den: 10n ** BigInt(places) };
          const out = convert({ amount: a, currency: 'CNY' }, rate, 'USDT').amount;
          // exact = a / 100 × rate × 10^6 = a × num × 10^4 / den
          const exactNum = a * num * 10_000n;
          expect(out * rate.den <= exactNum).toBe(true);
          expect((out + 1n) * rate.den > exactNum).toBe(true);
        },
      ),
    );
  });
});
