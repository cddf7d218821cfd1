import { type ExactRate, invertRate, parseDecimalRate } from '../../shared/money.js';

/**
 * Choosing an exchange rate, pure (docs/pricing.md#fx). Rates come from the feed (fresh while younger
 * than the configured age) or from the admins' manual table (fresh until the time the admin gave);
 * the feed wins while it is fresh, the manual table is the fallback. A pair may be quoted either
 * way round: USDT→CNY 7.2512 also prices CNY→USDT, at exactly 1/7.2512.
 */
export const FX_SOURCES = ['feed', 'manual'] as const;
export type FxSource = (typeof FX_SOURCES)[number];

export interface FxQuoteRow {
  id: string;
  base: string;
  quote: string;
  /** Decimal text as published: 1 base = rate quote. */
  rate: string;
  source: FxSource;
  asOf: number;
  /** Manual rates only: the end of the validity the admin gave. */
  validUntil: number | null;
}

export interface ChosenFx {
  row: FxQuoteRow;
  /** Units of `to` per unit of `from`, exact. */
  rate: ExactRate;
}

export function isFresh(row: FxQuoteRow, now: number, maxAgeMs: number): boolean {
  if (row.source === 'manual') return row.validUntil !== null && now < row.validUntil && row.asOf <= now;
  return now - row.asOf <= maxAgeMs;
}

/** The rate to convert `from` into `to` at `now`, or undefined when no fresh one exists. */
export function chooseFx(
  rows: readonly FxQuoteRow[],
  from: string,
  to: string,
  now: number,
  maxAgeMs: number,
): ChosenFx | undefined {
  for (const source of FX_SOURCES) {
    let best: FxQuoteRow | undefined;
    for (const r of rows) {
      if (r.source !== source || !isFresh(r, now, maxAgeMs)) continue;
      const pair = (r.base === from && r.quote === to) || (r.base === to && r.quote === from);
      if (pair && (!best || r.asOf > best.asOf)) best = r;
    }
    if (best) {
      const published = parseDecimalRate(best.rate);
      return { row: best, rate: best.base === from ? published : invertRate(published) };
    }
  }
  return undefined;
}
