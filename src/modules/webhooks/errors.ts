import type { Failure } from '../../shared/result.js';

/** Why a test callback cannot be queued or shown. */
export type CallbackTestError = Failure<
  | 'callback_url_required'
  | 'resource_not_found'
  | 'url_invalid'
  | 'url_address_refused'
  | 'url_host_unresolvable'
>;

/** Why a URL is not taken as a callback destination (docs/webhooks.md#outbound-safety). */
export type UrlError = Failure<
  'url_invalid' | 'url_address_refused' | 'url_host_unresolvable' | 'callback_host_not_allowed'
>;

/** Why an endpoint, a delivery or a replay cannot be made or shown. */
export type WebhookError =
  | UrlError
  | Failure<'resource_not_found' | 'unknown_event_type' | 'invalid_request' | 'unknown_reference'>;
