import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_card_types.js';
import * as m0003 from './0003_orders.js';
import * as m0004 from './0004_verification.js';
import * as m0005 from './0005_pricing.js';
import * as m0006 from './0006_events.js';
import * as m0007 from './0007_webhooks.js';
import * as m0008 from './0008_money.js';
import * as m0009 from './0009_channel_auth.js';
import * as m0010 from './0010_idempotency.js';
import * as m0011 from './0011_lockouts.js';
import * as m0012 from './0012_channel_limits.js';
import * as m0013 from './0013_admins.js';
import * as m0014 from './0014_seller_logins.js';
import * as m0015 from './0015_risk.js';
import * as m0016 from './0016_risk_counters.js';
import * as m0017 from './0017_risk_rings.js';
import * as m0018 from './0018_reviews.js';
import * as m0019 from './0019_batches.js';
import * as m0020 from './0020_batch_progress.js';
import * as m0021 from './0021_jobs_claim_order.js';

/** Every migration, in order. Names sort in application order; never rename or edit a shipped one. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_card_types': m0002,
  '0003_orders': m0003,
  '0004_verification': m0004,
  '0005_pricing': m0005,
  '0006_events': m0006,
  '0007_webhooks': m0007,
  '0008_money': m0008,
  '0009_channel_auth': m0009,
  '0010_idempotency': m0010,
  '0011_lockouts': m0011,
  '0012_channel_limits': m0012,
  '0013_admins': m0013,
  '0014_seller_logins': m0014,
  '0015_risk': m0015,
  '0016_risk_counters': m0016,
  '0017_risk_rings': m0017,
  '0018_reviews': m0018,
  '0019_batches': m0019,
  '0020_batch_progress': m0020,
  '0021_jobs_claim_order': m0021,
};
