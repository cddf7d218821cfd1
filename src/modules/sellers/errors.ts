import type { Failure } from '../../shared/result.js';

/** Why a seller or a destination cannot be written or shown. */
export type SellerError = Failure<
  'resource_not_found' | 'destination_invalid' | 'holder_name_mismatch' | 'seller_name_required'
>;

/** Why a seller of an h5 channel cannot register or sign in (docs/h5-sellers.md). */
export type LoginError = Failure<
  'seller_page_unavailable' | 'seller_phone_taken' | 'seller_credentials_invalid' | 'seller_login_locked'
>;

/** Why a request of the seller page is not signed in. */
export type SessionError = Failure<'seller_session_invalid' | 'seller_session_expired'>;
