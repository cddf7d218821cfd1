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

export interface Database {
  channels: ChannelsTable;
  request_nonces: RequestNoncesTable;
  jobs: JobsTable;
  callback_tests: CallbackTestsTable;
  card_types: CardTypesTable;
}
