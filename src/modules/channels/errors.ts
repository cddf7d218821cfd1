import type { Failure } from '../../shared/result.js';

/** Why a change to a channel is refused. */
export type ChannelError = Failure<
  | 'unknown_reference'
  | 'channel_not_found'
  | 'rotation_conflict'
  | 'invalid_request'
  | 'public_key_invalid'
  | 'too_many_keys'
  | 'resource_not_found'
>;

/** Why a signed request is not accepted (each has its own 401 code, docs/signing.md). */
export type AuthError = Failure<
  | 'auth_header_invalid'
  | 'timestamp_out_of_window'
  | 'channel_unknown'
  | 'channel_disabled'
  | 'signature_invalid'
  | 'nonce_reused'
  | 'sign_type_not_allowed'
  | 'client_certificate_required'
  | 'token_invalid'
  | 'token_expired'
  | 'ip_not_allowed'
>;
