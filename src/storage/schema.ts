import type { Generated } from 'kysely';

/**
 * Table shapes as Kysely sees them. Times are integer milliseconds since the epoch (bigint in
 * PostgreSQL, read back as numbers); see docs/decisions/0003-storage.md.
 */
export interface ChannelsTable {
  id: string;
  name: string;
  kind: string;
  status: string;
  secret_sealed: string;
  webhook_secret_sealed: string;
  callback_url: string | null;
  face_value_policy: string;
  created_at: number;
  updated_at: number;
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
  state: string;
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
}

export interface CallbackTestsTable {
  id: string;
  channel_id: string;
  url: string;
  status: string;
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
  category: string;
  number_pattern: string;
  secret_pattern: string;
  checksum: string;
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
  status: string;
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
  redeem_state: string;
  waiting_for: string | null;
  verified_at: number | null;
}

export interface IssuerRoutesTable {
  id: string;
  card_type: string;
  issuer: string;
  protocol: string;
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
  event: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  created_at: number;
}

export interface Database {
  channels: ChannelsTable;
  request_nonces: RequestNoncesTable;
  jobs: JobsTable;
  callback_tests: CallbackTestsTable;
  card_types: CardTypesTable;
  orders: OrdersTable;
  order_events: OrderEventsTable;
  issuer_routes: IssuerRoutesTable;
  issuer_codes: IssuerCodesTable;
}
