import type { Failure } from '../../shared/result.js';

/** Why a card cannot be priced now (quotes and intake). */
export type PriceError = Failure<
  | 'unsupported_card_type'
  | 'unsupported_face_value'
  | 'no_offer'
  | 'fx_unavailable'
  | 'quote_expired'
  | 'quote_mismatch'
>;

/** Why an operator's change to rates, adjustments or exchange rates is refused. */
export type PricingAdminError = Failure<
  | 'invalid_request'
  | 'unknown_reference'
  | 'rate_ranges_overlap'
  | 'effective_from_too_soon'
  | 'channel_not_found'
  | 'card_type_not_found'
  | 'unsupported_face_value'
  | 'resource_not_found'
  | 'conflict'
>;
