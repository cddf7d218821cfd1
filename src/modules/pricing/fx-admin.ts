import type { FxRateSource } from '../../adapters/fx/port.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { parseDecimalRate } from '../../shared/money.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { PricingAdminDeps } from './admin.js';
import type { PricingAdminError } from './errors.js';
import { isFresh } from './fx.js';
import type { FxRateInput, FxRateView } from './model.js';
import { type FxRateRow, fxQuoteRow, latestFxRates, upsertManualFx } from './store.js';

/** Exchange rates: the manual table and the feed's reads. */
export function createFxAdmin(deps: PricingAdminDeps) {
  const { db, committer, clock, book } = deps;

  function fxView(r: FxRateRow, now: number): FxRateView {
    return {
      id: r.id,
      base: r.base,
      quote: r.quote,
      rate: r.rate,
      source: r.source,
      as_of: rfc3339(r.as_of),
      valid_until: r.valid_until === null ? null : rfc3339(r.valid_until),
      fresh: isFresh(fxQuoteRow(r), now, deps.fxMaxAgeMs),
    };
  }

  return {
    async putManualFx(
      base: string,
      quote: string,
      input: FxRateInput,
    ): Promise<Result<FxRateView, PricingAdminError['code']>> {
      if (base === quote)
        return fail('invalid_request', 'A rate converts between two different currencies.', {
          field: 'quote',
        });
      try {
        parseDecimalRate(input.rate);
      } catch {
        return fail('invalid_request', 'rate must be above zero.', { field: 'rate' });
      }
      const now = clock.now();
      const row: FxRateRow = {
        id: newId('fxr', now),
        base,
        quote,
        rate: input.rate,
        source: 'manual',
        as_of: now,
        valid_until: now + input.valid_for_s * 1000,
        used: 0,
        created_at: now,
      };
      const stored = await committer.run((trx) => upsertManualFx(trx, row));
      if (!stored)
        return fail(
          'conflict',
          'Another rate for this pair was set in the same millisecond and is in use; retry.',
        );
      book.invalidate();
      return ok(fxView(stored, now));
    },

    async listFx(): Promise<FxRateView[]> {
      const now = clock.now();
      return (await latestFxRates(db)).map((r) => fxView(r, now));
    },

    /** The FX refresh job: reads the feed and stores what it says. Returns how many rates were new. */
    async refreshFx(source: FxRateSource, signal?: AbortSignal): Promise<number> {
      const quotes = await source.latest(signal);
      const now = clock.now();
      const rows: FxRateRow[] = quotes.map((q) => ({
        id: newId('fxr', now),
        base: q.base,
        quote: q.quote,
        rate: q.rate,
        source: 'feed',
        as_of: q.asOf,
        valid_until: null,
        used: 0,
        created_at: now,
      }));
      const added = await committer.run(async (trx) => {
        let n = 0;
        for (const r of rows) {
          // A feed that has not moved since the last read adds nothing.
          const r2 = await trx
            .insertInto('fx_rates')
            .values(r)
            .onConflict((oc) => oc.columns(['source', 'base', 'quote', 'as_of']).doNothing())
            .executeTakeFirst();
          n += Number(r2.numInsertedOrUpdatedRows ?? 0);
        }
        return n;
      });
      if (added > 0) book.invalidate();
      return added;
    },
  };
}
