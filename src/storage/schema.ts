import type { Generated } from 'kysely';
import type { IssuerProtocol } from '../adapters/issuers/port.js';
import type { JobState } from '../jobs/model.js';
import type { AdminRole, AdminStatus } from '../modules/admins/index.js';
import type { CardCategory, Checksum } from '../modules/cards/index.js';
import type {
  CallbackAck,
  CallbackFormat,
  CallbackSignType,
  ChannelKind,
  ChannelStatus,
  FaceValuePolicy,
} from '../modules/channels/index.js';
import type { EntryKind, PendingState } from '../modules/ledger/index.js';
import type { OrderEvent, OrderStatus } from '../modules/orders/index.js';
import type { RedeemState } from '../modules/verification/index.js';
import type { CallbackTestStatus, DeliveryStatus } from '../modules/webhooks/index.js';

/**
 * Table shapes as Kysely sees them. Times are integer milliseconds since the epoch (bigint in
 * PostgreSQL, read back as numbers); see docs/decisions/0003-storage.md.
 */
export interface ChannelsTable {
  id: string;
  name: string;
  kind: ChannelKind;
  status: ChannelStatus;
  secret_sealed: string;
  webhook_secret_sealed: string;
  callback_url: string | null;
  face_value_policy: FaceValuePolicy;
  group_id: string | null;
  settlement_currency: string | null;
  created_at: number;
  updated_at: number;
  /** The API secret before the last rotation, still verifying until `secret_previous_until`. */
  secret_previous_sealed: string | null;
  secret_previous_until: number | null;
  /** The webhook secret before the last rotation, still signing until its `_until`. */
  webhook_secret_previous_sealed: string | null;
  webhook_secret_previous_until: number | null;
  callback_format: CallbackFormat;
  settlement_cycle: 'T0' | 'T1' | 'T3';
  /** HH:MM in settlement_time_zone: orders settled before it belong to that day's batch. */
  settlement_cutoff: string;
  settlement_time_zone: string;
  /** E-commerce flow: the seller's amount is held (pending) from intake until the issuer answers. */
  escrow: number;
  min_payout: number;
  payout_fee: number;
  seller_daily_payout_cap: number | null;
  callback_ack: CallbackAck;
  callback_sign_type: CallbackSignType;
  /** JSON array of host names. */
  callback_hosts: string;
  /** JSON array of the signature schemes the channel may sign with (docs/signing.md#schemes). */
  auth_schemes: string;
  /** 1: every call also carries an OAuth access token (e-commerce platforms). */
  require_token: number;
  /** Lower-case hex SHA-256 of the DER client certificate the channel must present over mTLS. */
  client_cert_sha256: string | null;
  /** Channel policy and abuse limits (docs/limits.md): the currency of the amounts below. */
  limit_currency: string;
  order_min: number | null;
  order_max: number | null;
  daily_amount_cap: number | null;
  daily_order_cap: number | null;
  /** Null: the server's default (RECARD_CHANNEL_RATE, RECARD_CHANNEL_BURST). */
  rate_per_second: number | null;
  rate_burst: number | null;
  /** JSON array of CIDRs; empty: any address. */
  ip_allowlist: string;
  /** JSON array of order field names the channel's orders must carry. */
  required_fields: string;
}

/** A channel's registered public key (RSA-SHA256 or SM2-SM3 request signatures). */
export interface ChannelKeysTable {
  id: string;
  channel_id: string;
  algorithm: 'RSA-SHA256' | 'SM2-SM3';
  /** PEM (RSA, SM2) as registered, normalised. */
  public_key: string;
  /** Lower-case hex SHA-256 of the key's DER SubjectPublicKeyInfo. */
  fingerprint: string;
  status: 'active' | 'revoked';
  created_at: number;
  revoked_at: number | null;
}

/** A key our OAuth access tokens are signed with; the private half sealed with the channel keyring. */
export interface OauthKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_sealed: string;
  created_at: number;
  sign_until: number;
  publish_until: number;
}

/** What a channel took in on one business day, for its daily caps. */
export interface ChannelDailyUsageTable {
  channel_id: string;
  business_date: string;
  orders: number;
  amount: number;
}

export interface RequestNoncesTable {
  channel_id: string;
  nonce: string;
  expires_at: number;
}

export interface JobsTable {
  id: string;
  kind: string;
  payload: string;
  state: JobState;
  attempt: Generated<number>;
  max_attempts: number;
  run_at: number;
  locked_by: string | null;
  lease_until: number | null;
  last_error: string | null;
  unique_key: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Jobs with one key run one at a time, lowest `ordering_seq` first (a subscriber and one subject). */
  ordering_key: string | null;
  ordering_seq: number | null;
  /** The typed cause of the last failure when the handler gave one (JobFailure.code). */
  last_error_code: string | null;
}

export interface CallbackTestsTable {
  id: string;
  channel_id: string;
  url: string;
  status: CallbackTestStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface CardTypesTable {
  code: string;
  name: string;
  issuer: string;
  category: CardCategory;
  number_pattern: string;
  secret_pattern: string;
  checksum: Checksum;
  /** JSON array of accepted face values in minor units. */
  face_values: string;
  currency: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface OrdersTable {
  id: string;
  channel_id: string;
  merchant_order_id: string;
  /** Keyed hash of the request body: a repeat with another body is a conflict. */
  request_hash: string;
  card_type: string;
  /** Keyed hash of card type + number: duplicates are found by it, never by the number. */
  card_hash: string;
  card_last4: string;
  card_number_length: number;
  card_key_id: string;
  /** Null once the card is destroyed (crypto-shredding). */
  card_wrapped_key: string | null;
  card_ciphertext: string | null;
  declared_face_value: number;
  currency: string;
  status: OrderStatus;
  seller_id: string;
  seller_name: string | null;
  callback_url: string | null;
  attach: string | null;
  client_ip: string | null;
  device_id: string | null;
  user_id: string | null;
  user_registered_at: number | null;
  created_at: number;
  updated_at: number;
  issuer: string | null;
  route_id: string | null;
  actual_face_value: number | null;
  reason: string | null;
  raw_code: string | null;
  redemption_id: string | null;
  redeem_state: RedeemState;
  waiting_for: string | null;
  verified_at: number | null;
  /** The price in force for this order (the quote's, or the one made at intake, or a repricing). */
  price_id: string | null;
  quote_id: string | null;
  /** Order fields a channel's kind may require (docs/limits.md#required-fields). */
  platform_order_id: string | null;
  store_terminal_id: string | null;
  blockchain_address: string | null;
  /** When a reviewer approved the order (docs/reviews.md): verification redeems what it held for review. */
  approved_at: number | null;
  /** The batch (bat_…) the order came in, if any. */
  batch_id: string | null;
}

/** A manual review case (docs/reviews.md), owned by the reviews module. */
export interface ReviewsTable {
  id: string;
  order_id: string;
  channel_id: string;
  reason: string;
  stage: 'intake' | 'issuer' | 'redeem';
  status: 'open' | 'claimed' | 'info_requested' | 'decided';
  claimed_by: string | null;
  claim_expires_at: number | null;
  decision: 'approve' | 'reject' | null;
  comment: string | null;
  decided_by: string | null;
  decided_at: number | null;
  /** The declared face value, in minor units of `currency`. */
  amount: number;
  currency: string;
  created_at: number;
  updated_at: number;
}

/** One uploaded card file (docs/batches.md). */
export interface BatchesTable {
  id: string;
  channel_id: string;
  merchant_batch_id: string;
  /** How it came: `api` (POST /v1/batches) or `file_drop` (SFTP). */
  source: 'api' | 'file_drop';
  file_name: string | null;
  /** SHA-256 (hex) of the file's bytes as uploaded. */
  file_sha256: string;
  file_bytes: number;
  format: 'csv' | 'text' | 'xlsx';
  encoding: string | null;
  /** For text files: the card type and face value of every line. */
  card_type: string | null;
  declared_face_value: number | null;
  seller_id: string;
  status: 'receiving' | 'processing' | 'completed' | 'cancelled';
  line_count: number;
  /** The report made when the batch completed (masked numbers only), and its SHA-256. */
  report_sha256: string | null;
  report_csv: string | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

/** A card line of a batch: sealed until its order is written, then the order's id. */
export interface BatchLinesTable {
  batch_id: string;
  line: number;
  status: 'pending' | 'ordered' | 'refused' | 'cancelled';
  card_type: string | null;
  card_masked: string | null;
  declared_face_value: number | null;
  merchant_order_id: string | null;
  sealed_key_id: string | null;
  /** The card number and secret sealed under the card master key; null once processed. */
  sealed_card: string | null;
  order_id: string | null;
  /** Why the line was refused: the same stable codes as a single order's refusal. */
  code: string | null;
  message: string | null;
  field: string | null;
}

export interface ChannelGroupsTable {
  id: string;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface RateSheetsTable {
  id: string;
  tier: string;
  tier_id: string;
  card_type: string;
  kind: string;
  effective_from: number;
  note: string | null;
  created_at: number;
}

export interface RateRangesTable {
  id: string;
  sheet_id: string;
  face_min: number;
  face_max: number;
  bps: number;
}

export interface RateAdjustmentPoliciesTable {
  card_type: string;
  enabled: number;
  window_s: number;
  min_orders: number;
  failure_rate_bps: number;
  review_rate_bps: number;
  step_bps: number;
  floor_bps: number;
  ceiling_bps: number;
  updated_at: number;
}

export interface RateAdjustmentsTable {
  id: string;
  card_type: string;
  adjustment_bps: number;
  floor_bps: number;
  ceiling_bps: number;
  reason: string;
  outcomes_total: number;
  outcomes_failed: number;
  outcomes_review: number;
  effective_from: number;
  created_at: number;
}

export interface FxRatesTable {
  id: string;
  base: string;
  quote: string;
  rate: string;
  source: string;
  as_of: number;
  valid_until: number | null;
  used: Generated<number>;
  created_at: number;
}

export interface PricesTable {
  id: string;
  /** quote | intake | reprice */
  kind: string;
  channel_id: string;
  order_id: string | null;
  /** For a repricing: the price it replaced. */
  replaces: string | null;
  card_type: string;
  face_value: number;
  currency: string;
  /** The rate applied: the table's, lowered by an automatic adjustment if one was in force. */
  rate_bps: number;
  table_rate_bps: number;
  rate_range_id: string;
  commission_bps: number;
  commission_range_id: string | null;
  adjustment_bps: number;
  adjustment_id: string | null;
  seller_amount: number;
  commission_amount: number;
  margin_amount: number;
  payout_amount: number;
  payout_currency: string;
  fx_rate_id: string | null;
  fx_base: string | null;
  fx_quote: string | null;
  fx_rate: string | null;
  fx_as_of: number | null;
  created_at: number;
  expires_at: number | null;
}

export interface IssuerRoutesTable {
  id: string;
  card_type: string;
  issuer: string;
  protocol: IssuerProtocol;
  endpoint: string;
  priority: number;
  capacity_per_minute: number;
  timeout_ms: number;
  max_concurrency: number;
  poll_ms: number;
  app_id: string | null;
  app_secret_sealed: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface IssuerCodesTable {
  issuer: string;
  raw_code: string;
  reason: string | null;
  description: string;
  updated_at: number;
}

export interface OrderEventsTable {
  id: string;
  order_id: string;
  event: OrderEvent | 'submit';
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  reason: string | null;
  created_at: number;
}

/**
 * One thing that happened (docs/events.md). `position`: taken at insert, monotonic per subject.
 * `seq`: commit order, what readers resume from; null on PostgreSQL until the sequencer numbers it.
 */
export interface EventsTable {
  position: Generated<number>;
  seq: number | null;
  id: string;
  type: string;
  version: number;
  /** The channel the subject belongs to; null for events no channel may see. */
  channel_id: string | null;
  subject_id: string;
  /** JSON of the type's versioned payload schema. */
  payload: string;
  created_at: number;
}

export interface AdminUsersTable {
  id: string;
  username: string;
  role: AdminRole;
  status: AdminStatus;
  /** argon2id, PHC string. */
  password_hash: string;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface AdminSessionsTable {
  /** Hex SHA-256 of the bearer token. */
  token_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  /** The absolute expiry; the idle one is `last_seen_at` + the idle limit. */
  expires_at: number;
}

export interface AdminAuditTable {
  id: string;
  at: number;
  actor_kind: 'user' | 'break-glass' | 'anonymous';
  actor_id: string | null;
  actor_name: string;
  operation_id: string;
  method: string;
  route: string;
  params: string;
  request_body: string | null;
  status: number;
  before: string | null;
  after: string | null;
  request_id: string;
}

export interface EventSequenceTable {
  id: number;
  last_seq: number;
}

/** What happened to a subject (a card hash, a seller, a device, an IP) within a window. */
export interface LockoutCountersTable {
  subject_kind: string;
  subject_key: string;
  /** What is counted: `try` (a submission), `wrong_secret` (the issuer said the secret is wrong). */
  metric: string;
  window_ms: number;
  /** When the current window opened (its first hit). */
  window_start: number;
  count: number;
}

/** A subject refused at intake until `expires_at`, unless released first. */
export interface LockoutsTable {
  id: string;
  subject_kind: string;
  subject_key: string;
  label: string;
  reason: string;
  created_at: number;
  expires_at: number;
  released_at: number | null;
}

/** A subject a seller was seen with at intake (docs/risk-rings.md): only its keyed hash and a label. */
export interface RiskSellerLinksTable {
  channel_id: string;
  seller_id: string;
  /** `device`, `ip` or `destination`. */
  kind: string;
  /** Keyed hash (hex) of the value; the value itself is never stored. */
  value_hash: string;
  /** Masked, for people: a device's last four characters, an IPv4 /24, an account's last four. */
  label: string;
  first_seen_at: number;
  last_seen_at: number;
  /** Intakes that recorded this link. */
  orders: number;
}

/** Rejected and frozen orders per seller, counted from `order.rejected` and `order.frozen`. */
export interface RiskSellerOutcomesTable {
  channel_id: string;
  seller_id: string;
  rejected: number;
  frozen: number;
  updated_at: number;
}

/** A group of sellers linked by shared subjects, as the last rings computation found it. */
export interface RiskRingsTable {
  /** `rng_` + 26 characters derived from the members: the same members keep the same id. */
  id: string;
  size: number;
  /** Members with a rejected or frozen order. */
  bad_members: number;
  /** 1 when `bad_members` reached the threshold: for the review queue. */
  flagged: number;
  /** JSON array of `{kind, label, members: [[channel_id, seller_id], …]}`. */
  links: string;
  first_seen_at: number;
  computed_at: number;
}

/** A ring's member (a seller is in one ring at most), with its outcomes when the ring was computed. */
export interface RiskRingMembersTable {
  ring_id: string;
  channel_id: string;
  seller_id: string;
  rejected: number;
  frozen: number;
}

export interface Database {
  channels: ChannelsTable;
  channel_keys: ChannelKeysTable;
  oauth_keys: OauthKeysTable;
  channel_daily_usage: ChannelDailyUsageTable;
  request_nonces: RequestNoncesTable;
  jobs: JobsTable;
  callback_tests: CallbackTestsTable;
  card_types: CardTypesTable;
  orders: OrdersTable;
  lockout_counters: LockoutCountersTable;
  lockouts: LockoutsTable;
  risk_seller_links: RiskSellerLinksTable;
  risk_seller_outcomes: RiskSellerOutcomesTable;
  risk_rings: RiskRingsTable;
  risk_ring_members: RiskRingMembersTable;
  order_events: OrderEventsTable;
  issuer_routes: IssuerRoutesTable;
  issuer_codes: IssuerCodesTable;
  channel_groups: ChannelGroupsTable;
  rate_sheets: RateSheetsTable;
  rate_ranges: RateRangesTable;
  rate_adjustment_policies: RateAdjustmentPoliciesTable;
  rate_adjustments: RateAdjustmentsTable;
  fx_rates: FxRatesTable;
  prices: PricesTable;
  events: EventsTable;
  event_sequence: EventSequenceTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_transfers: LedgerTransfersTable;
  sellers: SellersTable;
  payout_destinations: PayoutDestinationsTable;
  settlement_items: SettlementItemsTable;
  settlement_batches: SettlementBatchesTable;
  payouts: PayoutsTable;
  idempotency_keys: IdempotencyKeysTable;
  admin_users: AdminUsersTable;
  admin_sessions: AdminSessionsTable;
  admin_audit: AdminAuditTable;
  seller_accounts: SellerAccountsTable;
  seller_sessions: SellerSessionsTable;
  risk_rules: RiskRulesTable;
  risk_assessments: RiskAssessmentsTable;
  risk_blacklist: RiskBlacklistTable;
  risk_reports: RiskReportsTable;
  risk_seller_profiles: RiskSellerProfilesTable;
  risk_step_ups: RiskStepUpsTable;
  risk_counters: RiskCountersTable;
  risk_moments: RiskMomentsTable;
  reviews: ReviewsTable;
  batches: BatchesTable;
  batch_lines: BatchLinesTable;
}

export interface LedgerAccountsTable {
  id: string;
  kind: string;
  currency: string;
  owner: string;
  /** Bit set: 1 debits must not exceed credits, 2 credits must not exceed debits. */
  flags: number;
  debits_pending: number;
  debits_posted: number;
  credits_pending: number;
  credits_posted: number;
  created_at: number;
  updated_at: number;
}

/** One transfer (docs/ledger.md#transfers); `TransferRecord` is this row without its `entry`. */
export interface LedgerTransfersTable {
  id: string;
  entry: string;
  kind: EntryKind;
  debit_account_id: string;
  credit_account_id: string;
  amount: number;
  currency: string;
  code: number;
  pending_id: string | null;
  timeout_s: number | null;
  expires_at: number | null;
  pending_state: PendingState | null;
  ref_type: string | null;
  ref_id: string | null;
  created_at: number;
}

export interface SellersTable {
  channel_id: string;
  id: string;
  name: string | null;
  verified_name: string | null;
  verified: number;
  created_at: number;
  updated_at: number;
}

export interface PayoutDestinationsTable {
  id: string;
  channel_id: string;
  seller_id: string;
  kind: string;
  account: string;
  network: string | null;
  holder_name: string;
  is_default: number;
  status: 'active' | 'removed';
  created_at: number;
  updated_at: number;
}

export interface SettlementItemsTable {
  order_id: string;
  channel_id: string;
  seller_id: string;
  amount: number;
  currency: string;
  settled_at: number;
  batch_id: string | null;
  payout_id: string | null;
  paid_at: number | null;
}

export interface SettlementBatchesTable {
  id: string;
  channel_id: string;
  cycle: string;
  business_date: string;
  status: string;
  due_at: number;
  order_count: number;
  amount: number;
  currency: string;
  approved_by: string | null;
  approved_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface PayoutsTable {
  id: string;
  channel_id: string;
  seller_id: string;
  destination_id: string;
  provider: string;
  amount: number;
  fee: number;
  currency: string;
  status: string;
  batch_id: string | null;
  order_count: number;
  attempts: number;
  provider_ref: string | null;
  raw_code: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  finished_at: number | null;
}

export interface WebhookEndpointsTable {
  id: string;
  channel_id: string;
  url: string;
  /** JSON array. */
  event_types: string;
  enabled: number;
  description: string | null;
  disabled_reason: string | null;
  failing_since: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  channel_id: string;
  endpoint_id: string | null;
  url: string;
  event_id: string;
  event_position: number;
  event_type: string;
  event_created_at: number;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error_code: string | null;
  resend_of: string | null;
  created_at: number;
  updated_at: number;
  succeeded_at: number | null;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  latency_ms: number;
  error_code: string | null;
  error: string | null;
  response_head: string | null;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  method: string;
  path: string;
  body_hash: string;
  claim: string;
  status: number | null;
  response: string | null;
  locked_until: number;
  expires_at: number;
  created_at: number;
}

/** A seller's login on an h5 channel's seller page (docs/h5-sellers.md). */
export interface SellerAccountsTable {
  id: string;
  channel_id: string;
  /** The seller it signs in as (`sellers.id`, `h5_…`): never derived from the phone. */
  seller_id: string;
  /** HMAC-SHA256 (hex) of the phone number under a key of this deployment: looked up, never shown. */
  phone_hash: string;
  /** Last four digits, for "138****1234" on the seller's own page. */
  phone_last4: string;
  /** Argon2id PHC string. */
  password_hash: string;
  failed_logins: number;
  /** Start of the current window of failures (ms); null when there is none. */
  failed_since: number | null;
  locked_until: number | null;
  created_at: number;
  updated_at: number;
}

/** A signed-in seller: only the SHA-256 of the token is kept. */
export interface SellerSessionsTable {
  token_hash: string;
  account_id: string;
  channel_id: string;
  seller_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute end (ms), whatever the activity. */
  expires_at: number;
}

/** A risk rule's settings; a rule without a row runs with its defaults (docs/risk.md). */
export interface RiskRulesTable {
  id: string;
  enabled: number;
  /** `enforce` or `shadow` (recorded, not enforced). */
  mode: string;
  /** The rule's thresholds, JSON, checked against the rule's schema. */
  params: string;
  version: number;
  updated_at: number;
  updated_by: string | null;
}

/** What the engine decided about an order at one stage, with every rule that fired. */
export interface RiskAssessmentsTable {
  id: string;
  order_id: string;
  channel_id: string;
  /** `intake` or `issuer`. */
  stage: string;
  decision: string;
  /** JSON array of fired rules: rule, decision, reasons, shadow. */
  fired: string;
  created_at: number;
}

/** A blacklisted card, seller, device, IP or payout destination, by keyed hash only. */
export interface RiskBlacklistTable {
  id: string;
  kind: string;
  value_hash: string;
  /** For people: a masked number, a seller id, an IP. */
  label: string;
  reason: string;
  created_by: string;
  created_at: number;
}

/** A suspicious-activity report and its evidence. */
export interface RiskReportsTable {
  id: string;
  order_id: string;
  channel_id: string;
  seller_id: string;
  kind: string;
  amount: number;
  currency: string;
  evidence: string;
  created_at: number;
}

/** What the engine remembers of a seller: first seen, and the last two places their IP was in. */
export interface RiskSellerProfilesTable {
  channel_id: string;
  seller_id: string;
  first_seen_at: number;
  last_lat: number | null;
  last_lon: number | null;
  last_city: string | null;
  last_located_at: number | null;
  prev_lat: number | null;
  prev_lon: number | null;
  prev_city: string | null;
  prev_located_at: number | null;
}

/** A step-up SMS code asked of a seller: the phone sealed, the code as a keyed hash. */
export interface RiskStepUpsTable {
  order_id: string;
  channel_id: string;
  phone_sealed: string;
  phone_last4: string;
  code_hash: string;
  attempts: number;
  /** `pending`, `sent`, `verified`, `failed` or `expired`. */
  status: string;
  created_at: number;
  expires_at: number;
  sent_at: number | null;
  verified_at: number | null;
}

/** A risk counter's fixed window (decision 0032): orders counted and their amount. */
export interface RiskCountersTable {
  key: string;
  window_ms: number;
  /** A multiple of window_ms: the window is [window_start, window_start + window_ms). */
  window_start: number;
  count: number;
  /** Sum of the orders' amounts, minor units. */
  amount: number;
  /** window_start + 2 × window_ms: past it, the prune removes the row. */
  expires_at: number;
}

/** Running statistics (Welford) of a key over one fixed window (decision 0032). */
export interface RiskMomentsTable {
  key: string;
  window_ms: number;
  window_start: number;
  n: number;
  mean: number;
  m2: number;
  /** The statistics before the last value was added (what that observe returned, exactly). */
  prior_n: number;
  prior_mean: number;
  prior_m2: number;
  expires_at: number;
}
