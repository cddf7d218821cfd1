/**
 * The port every exchange-rate source sits behind (docs/architecture.md#processes-and-storage). A source reports rates as the
 * exact decimal text it published, with the time it says they were true; Recard stores them and
 * decides freshness itself (src/modules/pricing/fx.ts). See docs/pricing.md#fx.
 */
export interface FxQuote {
  /** 1 `base` = `rate` `quote`. */
  base: string;
  quote: string;
  /** Decimal text, e.g. "7.2512"; never a float. */
  rate: string;
  /** When the source says the rate was true (ms since the epoch). */
  asOf: number;
}

export interface FxRateSource {
  /** Stored with each rate, so a price can say where its rate came from. */
  readonly name: string;
  /** The source's current rates. Throws FxSourceError when it cannot say. */
  latest(signal?: AbortSignal): Promise<FxQuote[]>;
  close(): Promise<void>;
}

/**
 * Why a source gave no rates: it could not be reached in time (`timeout`, `connection`), it said it
 * could not serve (`unavailable`), or what it sent is not a valid feed (`malformed`).
 */
export type FxSourceErrorKind = 'timeout' | 'connection' | 'unavailable' | 'malformed';

export class FxSourceError extends Error {
  override name = 'FxSourceError';
  constructor(
    readonly kind: FxSourceErrorKind,
    message: string,
  ) {
    super(message);
  }
}
