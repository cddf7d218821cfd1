/**
 * Money (docs/architecture.md#money): an integer amount in minor units with its currency beside it. Amounts are
 * bigint, so sums never lose precision; one card's value fits a JSON integer and the API shows it so.
 *
 * Rounding, everywhere: a share or a conversion is rounded down (toward zero) to the minor unit of its
 * currency, and the remainder stays with the party that was paying it out — the platform's margin.
 * docs/pricing.md shows the arithmetic.
 */

/** Currencies Recard holds money in, with the number of decimal places of their minor unit. */
export const CURRENCIES = { CNY: 2, HKD: 2, USD: 2, EUR: 2, USDT: 6 } as const satisfies Record<
  string,
  number
>;
export type Currency = keyof typeof CURRENCIES;
export const CURRENCY_CODES = Object.keys(CURRENCIES) as Currency[];

export function isCurrency(code: string): code is Currency {
  return Object.hasOwn(CURRENCIES, code);
}

export interface Money {
  readonly amount: bigint;
  readonly currency: Currency;
}

export function money(amount: bigint | number, currency: Currency): Money {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount))
    throw new RangeError(`money amounts are integers in minor units, got ${amount}`);
  return { amount: BigInt(amount), currency };
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new TypeError(`cannot combine ${a.currency} with ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amount: a.amount + b.amount, currency: a.currency };
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return { amount: a.amount - b.amount, currency: a.currency };
}

/** The amount as a JSON integer; refuses one that a JavaScript number cannot hold exactly. */
export function amountNumber(m: Money): number {
  if (m.amount > BigInt(Number.MAX_SAFE_INTEGER) || m.amount < BigInt(Number.MIN_SAFE_INTEGER))
    throw new RangeError(`${m.amount} ${m.currency} does not fit a JSON integer`);
  return Number(m.amount);
}

/** "95.00 CNY": for people (CLI, logs of amounts, docs), never parsed back. */
export function formatMoney(m: Money): string {
  const places = CURRENCIES[m.currency];
  const negative = m.amount < 0n;
  const digits = (negative ? -m.amount : m.amount).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  const fraction = places > 0 ? `.${digits.slice(-places)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction} ${m.currency}`;
}

export const BPS_SCALE = 10_000;

/** floor(amount × bps / 10 000): the share of a non-negative amount at a rate in basis points. */
export function shareAt(m: Money, bps: number): Money {
  if (!Number.isInteger(bps) || bps < 0 || bps > BPS_SCALE) throw new RangeError(`bps out of range: ${bps}`);
  if (m.amount < 0n) throw new RangeError('shares are taken of non-negative amounts');
  return { amount: (m.amount * BigInt(bps)) / BigInt(BPS_SCALE), currency: m.currency };
}

/**
 * An exact, positive exchange rate: num/den units of the quote currency per unit of the base currency.
 * Parsed from the decimal text a rate source publishes, so no float ever touches it.
 */
export interface ExactRate {
  readonly num: bigint;
  readonly den: bigint;
}

/** Up to 12 digits before and 12 after the point; no sign, no exponent. */
export const DECIMAL_RATE_PATTERN = '^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,12})?$';
const DECIMAL_RATE = new RegExp(DECIMAL_RATE_PATTERN);

export function parseDecimalRate(text: string): ExactRate {
  if (!DECIMAL_RATE.test(text)) throw new RangeError(`not a decimal rate: ${JSON.stringify(text)}`);
  const [whole = '0', fraction = ''] = text.split('.');
  const num = BigInt(whole + fraction);
  if (num === 0n) throw new RangeError('a rate must be above zero');
  return { num, den: 10n ** BigInt(fraction.length) };
}

export function invertRate(r: ExactRate): ExactRate {
  return { num: r.den, den: r.num };
}

/**
 * Converts a non-negative amount at `rate` (1 unit of its currency = rate units of `to`), rounding
 * down to the minor unit of `to`. Exact: one integer division at the very end.
 */
export function convert(m: Money, rate: ExactRate, to: Currency): Money {
  if (m.amount < 0n) throw new RangeError('conversions are of non-negative amounts');
  const num = m.amount * rate.num * 10n ** BigInt(CURRENCIES[to]);
  const den = rate.den * 10n ** BigInt(CURRENCIES[m.currency]);
  return { amount: num / den, currency: to };
}
