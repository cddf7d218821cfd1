import { distanceKm } from '../../../adapters/geo/index.js';
import type { Facts } from '../facts.js';
import type { Firing, RuleParams } from '../model.js';

/** The seller's IP location moved farther than `km` since their last located order within the window. */
export function geoJump(p: RuleParams<'geo_jump'>, f: Facts): Firing | null {
  const now = f.location?.now;
  const before = f.location?.before;
  if (!now || !before || f.nowMs - before.atMs > p.window_ms) return null;
  const km = distanceKm(before, now);
  if (km <= p.km) return null;
  const minutes = Math.round((f.nowMs - before.atMs) / 60_000);
  return {
    decision: 'review',
    reasons: [
      `moved ${Math.round(km)} km (${before.city ?? '?'} → ${now.city ?? '?'}) in ${minutes} min (limit ${p.km} km)`,
    ],
    stepUp: true,
  };
}
