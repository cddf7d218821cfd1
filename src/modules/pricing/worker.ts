import { type FxRateSource, FxSourceError } from '../../adapters/fx/port.js';
import type { JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { PricingAdmin } from './admin.js';
import { ADJUST_RATES, PRUNE_PRICING, REFRESH_FX } from './model.js';
import { pruneFxRates, pruneQuotes } from './store.js';

/**
 * Reads the exchange-rate feed on its schedule. A failed read is not retried by the job: the next
 * scheduled read is the retry, and until one succeeds stored rates age out (docs/pricing.md#fx).
 */
export function refreshFxHandler(
  admin: PricingAdmin,
  /** The configured source, if any (none: nothing to read). */
  sourceOf: () => FxRateSource | undefined,
  onResult?: (outcome: 'ok' | FxSourceError['kind']) => void,
): JobHandler<Record<string, never>> {
  return {
    spec: REFRESH_FX,
    async handle(_payload, ctx) {
      const source = sourceOf();
      if (!source) return;
      try {
        const added = await admin.refreshFx(source, ctx.signal);
        onResult?.('ok');
        ctx.logger.debug({ source: source.name, added }, 'exchange rates read');
      } catch (err) {
        if (!(err instanceof FxSourceError)) throw err;
        onResult?.(err.kind);
        ctx.logger.warn(
          { source: source.name, kind: err.kind, err: err.message },
          'exchange-rate feed unreadable',
        );
      }
    },
  };
}

/** Re-judges every automatic rate adjustment; each change is written with its reason. */
export function adjustRatesHandler(admin: PricingAdmin): JobHandler<Record<string, never>> {
  return {
    spec: ADJUST_RATES,
    async handle(_payload, ctx) {
      for (const change of await admin.adjustAll())
        ctx.logger.info(
          { card_type: change.card_type, adjustment_bps: change.adjustment_bps, reason: change.reason },
          'rate adjustment changed',
        );
    },
  };
}

/**
 * Quotes nobody used and feed rates no price used are kept a while (support may ask about them),
 * then deleted in batches. What explains a price is never deleted.
 */
export function prunePricingHandler(db: Db, clock: Clock): JobHandler<{ keep_ms: number }> {
  const drain = async (prune: (before: number) => Promise<number>, signal: AbortSignal) => {
    let removed = 0;
    for (;;) {
      const n = await prune(clock.now());
      removed += n;
      if (n < 1_000 || signal.aborted) return removed;
    }
  };
  return {
    spec: PRUNE_PRICING,
    async handle(payload, ctx) {
      const quotes = await drain((now) => pruneQuotes(db, now - payload.keep_ms, 1_000), ctx.signal);
      const rates = await drain((now) => pruneFxRates(db, now - payload.keep_ms, 1_000), ctx.signal);
      ctx.logger.debug({ quotes, fx_rates: rates }, 'unused quotes and exchange rates removed');
    },
  };
}
