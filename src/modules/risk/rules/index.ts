import type { Facts } from '../facts.js';
import type { Firing, RuleId, RuleParams } from '../model.js';
import { amountAnomaly } from './amount-anomaly.js';
import { blacklist } from './blacklist.js';
import { cardTesting } from './card-testing.js';
import { deviceMismatch } from './device-mismatch.js';
import { geoJump } from './geo-jump.js';
import { newAccountHighValue } from './new-account.js';
import { ringMember } from './ring-member.js';
import { stolenCard } from './stolen-card.js';
import { structuring } from './structuring.js';
import { velocity } from './velocity.js';

export { inStructuringBand } from './structuring.js';

/** Every rule, by id: pure functions of their thresholds and the facts. */
export const RULES: { [R in RuleId]: (p: RuleParams<R>, f: Facts) => Firing | null } = {
  card_testing: cardTesting,
  velocity,
  geo_jump: geoJump,
  amount_anomaly: amountAnomaly,
  blacklist,
  device_mismatch: deviceMismatch,
  new_account_high_value: newAccountHighValue,
  structuring,
  stolen_card: stolenCard,
  ring_member: ringMember,
};
