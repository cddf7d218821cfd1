/**
 * The closed vocabulary of API error codes. Adding a code without an HTTP status (and a line in
 * docs/errors.md, checked by a test) does not compile / does not pass.
 */
export const ERROR_STATUS = {
  // 400 — the request itself is wrong
  invalid_request: 400,
  malformed_json: 400,
  malformed_request: 400,
  callback_url_required: 400,
  unsupported_card_type: 400,
  invalid_card_number: 400,
  invalid_card_secret: 400,
  unsupported_face_value: 400,
  rate_ranges_overlap: 400,
  effective_from_too_soon: 400,
  unknown_reference: 400,
  url_invalid: 400,
  url_address_refused: 400,
  url_host_unresolvable: 400,
  callback_host_not_allowed: 400,
  unknown_event_type: 400,
  destination_invalid: 400,
  holder_name_mismatch: 400,
  seller_name_required: 400,
  public_key_invalid: 400,
  unsupported_grant_type: 400,
  unknown_column: 400,
  missing_column: 400,
  duplicate_column: 400,
  unreadable_xlsx: 400,
  undetectable_encoding: 400,
  empty_file: 400,
  content_digest_mismatch: 400,
  // 401 — who is calling could not be established
  auth_header_invalid: 401,
  timestamp_out_of_window: 401,
  channel_unknown: 401,
  channel_disabled: 401,
  signature_invalid: 401,
  nonce_reused: 401,
  admin_token_invalid: 401,
  sign_type_not_allowed: 401,
  client_certificate_required: 401,
  token_invalid: 401,
  token_expired: 401,
  invalid_client: 401,
  // 403 — who is calling is known, but not from here
  ip_not_allowed: 403,
  admin_login_failed: 401,
  // 403 — known, but not allowed
  role_forbidden: 403,
  current_credentials_required: 403,
  seller_credentials_invalid: 401,
  seller_session_invalid: 401,
  seller_session_expired: 401,
  // 403 — signed in, but the request is not allowed
  csrf_token_invalid: 403,
  // 404 / 405
  route_not_found: 404,
  resource_not_found: 404,
  card_type_not_found: 404,
  channel_not_found: 404,
  seller_page_unavailable: 404,
  method_not_allowed: 405,
  // 408 / 414 / 431 — refused by the HTTP layer before any route
  request_timeout: 408,
  uri_too_long: 414,
  headers_too_large: 431,
  // 409 — conflicts with what exists
  card_type_exists: 409,
  card_already_submitted: 409,
  idempotency_conflict: 409,
  quote_expired: 409,
  quote_mismatch: 409,
  rotation_conflict: 409,
  already_approved: 409,
  payout_not_unknown: 409,
  too_many_keys: 409,
  public_key_in_use: 409,
  conflict: 409,
  idempotency_request_in_flight: 409,
  seller_phone_taken: 409,
  batch_in_progress: 409,
  batch_not_cancellable: 409,
  // 422 — the card is refused
  no_offer: 422,
  idempotency_key_reused: 422,
  card_locked: 422,
  step_up_code_invalid: 422,
  step_up_expired: 422,
  // 429 — too many of something
  too_many_wrong_secrets: 429,
  amount_out_of_range: 422,
  // 429 — too much, too fast
  rate_limited: 429,
  daily_limit_reached: 429,
  admin_username_taken: 409,
  review_claimed: 409,
  review_not_claimed: 409,
  review_decided: 409,
  review_not_approvable: 409,
  // 423 — locked for a while
  admin_locked: 423,
  // 429 — slow down
  seller_login_locked: 429,
  // 413 / 415
  payload_too_large: 413,
  file_too_large: 413,
  too_many_lines: 413,
  unsupported_media_type: 415,
  // 5xx — our side or upstream
  internal_error: 500,
  service_unavailable: 503,
  fx_unavailable: 503,
  rate_limiter_unavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/**
 * An expected failure that the API reports to the caller: a stable code, a human message and,
 * where one field is at fault, its name (a JSON path into the body, or a header/query name).
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.field = options.field;
    this.headers = options.headers;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
