import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { FxQuoteRow } from './fx.js';
import { RateIndex } from './rates.js';
import { type AdjustmentRow, candidateFxRates, loadAdjustments, loadSheets } from './store.js';

export interface PricingSnapshot {
  rates: RateIndex;
  /** Per card type, oldest first. */
  adjustments: Map<string, AdjustmentRow[]>;
  /** Exchange rates that may be fresh (chooseFx decides). */
  fx: FxQuoteRow[];
  loadedAt: number;
}

/**
 * What pricing reads on every quote and intake, held in memory and reloaded every `refreshMs`
 * (0: on every call). Rate changes are written to take effect no sooner than `refreshMs` after they
 * are made, so every process prices with a change from the same moment (decision 0013).
 */
export class PricingBook {
  private snapshot: PricingSnapshot | undefined;
  private loading: Promise<PricingSnapshot> | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    readonly refreshMs: number,
    private readonly fxMaxAgeMs: number,
  ) {}

  async current(): Promise<PricingSnapshot> {
    const now = this.clock.now();
    const held = this.snapshot;
    if (held && this.refreshMs > 0 && now - held.loadedAt < this.refreshMs) return held;
    this.loading ??= this.load(now).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** After a change made in this process: the next call reloads. */
  invalidate(): void {
    this.snapshot = undefined;
  }

  private async load(now: number): Promise<PricingSnapshot> {
    // Rates kept a little past the freshness limit: the snapshot lives up to refreshMs.
    const [sheets, adjustments, fx] = await Promise.all([
      loadSheets(this.db),
      loadAdjustments(this.db),
      candidateFxRates(this.db, now, this.fxMaxAgeMs + this.refreshMs),
    ]);
    const byType = new Map<string, AdjustmentRow[]>();
    for (const a of adjustments) {
      const list = byType.get(a.card_type);
      if (list) list.push(a);
      else byType.set(a.card_type, [a]);
    }
    const snapshot = { rates: new RateIndex(sheets), adjustments: byType, fx, loadedAt: now };
    this.snapshot = snapshot;
    return snapshot;
  }
}

/** The automatic adjustment in force for a card type at `at`, if any. */
export function adjustmentAt(
  snapshot: PricingSnapshot,
  cardType: string,
  at: number,
): AdjustmentRow | undefined {
  return snapshot.adjustments.get(cardType)?.findLast((a) => a.effective_from <= at);
}
