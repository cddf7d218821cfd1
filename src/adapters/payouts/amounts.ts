/**
 * Minor units ↔ the decimal strings providers want, with integer arithmetic only: a float never
 * touches an amount (0.1 + 0.2 is not 0.3, and a payout must be exact to the fen).
 */

/** A non-negative safe integer, or an error: amounts in minor units are whole numbers. */
export function assertMinorUnits(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new RangeError('amount must be a whole number of minor units');
}

/** 123456 fen → "1234.56"; 5 → "0.05". */
export function fenToYuan(fen: number): string {
  assertMinorUnits(fen);
  const digits = String(fen).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** "1234.56" → 123456; anything but digits, a dot and exactly two decimals → undefined. */
export function yuanToFen(yuan: string): number | undefined {
  const m = /^(\d{1,13})\.(\d{2})$/.exec(yuan);
  if (!m) return undefined;
  const fen = Number(`${m[1]}${m[2]}`);
  return Number.isSafeInteger(fen) ? fen : undefined;
}

/** A whole number of minor units as the decimal string some APIs carry (no exponent, no sign). */
export function minorUnitsString(amount: number): string {
  assertMinorUnits(amount);
  return String(amount);
}

/** The reverse: "1500000" → 1500000; anything else → undefined. */
export function parseMinorUnits(text: string): number | undefined {
  if (!/^(0|[1-9]\d{0,15})$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
