import { type FxRateSource, FxSourceError } from '../../adapters/fx/port.js';
import type { JobHandler } from '../../jobs/model.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { PricingAdmin } from './admin.js';
import { ADJUST_RATES, PRUNE_PRICING, REFRESH_FX } from './model.js';
import { pruneFxRates, pruneQuotes } from './store.js';

const BATCH = 1_000;
const MAX_ROUNDS = 1_000;

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
export function prunePricingHandler(
  db: Db,
  clock: Clock,
  /** Orders' face: which of these quotes an order settled at. */
  quotesInUse: (db: Db, ids: readonly string[]) => Promise<Set<string>>,
): JobHandler<{ keep_ms: number }> {
  return {
    spec: PRUNE_PRICING,
    async handle(payload, ctx) {
      // Bounded: at most MAX_ROUNDS batches a run; what is left waits for the next run.
      let quotes = 0;
      let after = '';
      for (let round = 0; round < MAX_ROUNDS && !ctx.signal.aborted; round++) {
        const r = await pruneQuotes(
          db,
          clock.now() - payload.keep_ms,
          BATCH,
          (ids) => quotesInUse(db, ids),
          after,
        );
        quotes += r.removed;
        after = r.lastId;
        if (r.looked < BATCH) break;
      }
      let rates = 0;
      for (let round = 0; round < MAX_ROUNDS && !ctx.signal.aborted; round++) {
        const n = await pruneFxRates(db, clock.now() - payload.keep_ms, BATCH);
        rates += n;
        if (n < BATCH) break;
      }
      ctx.logger.debug({ quotes, fx_rates: rates }, 'unused quotes and exchange rates removed');
    },
  };
}
