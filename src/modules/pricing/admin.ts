import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { CardTypeService } from '../cards/index.js';
import type { ChannelService } from '../channels/index.js';
import { createAdjustmentAdmin } from './adjustment-admin.js';
import type { PricingBook } from './book.js';
import { createFxAdmin } from './fx-admin.js';
import { createRatesAdmin } from './rates-admin.js';
import type { PricingService } from './service.js';

export interface PricingAdminDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  book: PricingBook;
  pricing: PricingService;
  fxMaxAgeMs: number;
  /** The card catalogue's face. */
  cardTypes: Pick<CardTypeService, 'find' | 'list'>;
  /** Channels' face: a rate sheet's tier must exist. */
  channels: Pick<ChannelService, 'get' | 'group'>;
  /** Orders' face: verification outcomes per card type since a time (automatic adjustment). */
  outcomeCounts(
    db: Db,
    sinceMs: number,
  ): Promise<{ card_type: string; to_status: string; n: number | string }[]>;
}

/** Pricing as operators manage it: rate tables, automatic adjustment and exchange rates. */
export function createPricingAdmin(deps: PricingAdminDeps) {
  return { ...createRatesAdmin(deps), ...createAdjustmentAdmin(deps), ...createFxAdmin(deps) };
}

export type PricingAdmin = ReturnType<typeof createPricingAdmin>;
