import type { Failure } from '../../shared/result.js';

/** Why a seller or a destination cannot be written or shown. */
export type SellerError = Failure<
  'resource_not_found' | 'destination_invalid' | 'holder_name_mismatch' | 'seller_name_required'
>;
