import type { Kysely } from 'kysely';

/**
 * Each issuer's raw result codes and what they mean (docs/issuers.md). A code marked ambiguous has
 * several meanings and sends an order to review; `issuer_unavailable` is trouble worth retrying.
 * Operators add codes as issuers invent them; this is only the start.
 */
type Row = [rawCode: string, reason: string | null, description: string];
const BOSS: Row[] = [
  ['0000', 'ok', 'success'],
  ['1001', 'card_invalid', 'card does not exist'],
  ['1002', 'wrong_secret', 'wrong password'],
  ['1003', 'card_used', 'card already recharged'],
  ['1004', 'card_expired', 'card expired'],
  ['1005', 'card_unactivated', 'card not activated'],
  ['9003', null, 'card status abnormal: locked, reported lost or under the issuer review'],
  ['9999', 'issuer_unavailable', 'system busy'],
];
const TELECOM: Row[] = [
  ['0', 'ok', 'success'],
  ['40401', 'card_invalid', 'card not found'],
  ['40301', 'wrong_secret', 'wrong PIN'],
  ['40901', 'card_used', 'card already used'],
  ['41001', 'card_expired', 'card expired'],
  ['41002', 'card_unactivated', 'card inactive'],
  ['40099', null, 'card status abnormal'],
];
const ECARD: Row[] = [
  ['SUCCESS', 'ok', 'success'],
  ['CARD_NOT_FOUND', 'card_invalid', 'card not found'],
  ['PASSWORD_ERROR', 'wrong_secret', 'wrong card password'],
  ['CARD_USED', 'card_used', 'card already bound or used'],
  ['CARD_EXPIRED', 'card_expired', 'card expired'],
  ['CARD_INACTIVE', 'card_unactivated', 'card not activated'],
  ['CARD_FROZEN', null, 'card frozen: risk control or a dispute'],
  ['SYSTEM_BUSY', 'issuer_unavailable', 'system busy'],
];
const FILES: Row[] = [
  ['ACTIVE', 'ok', 'state file: usable'],
  ['USED', 'card_used', 'state file: used'],
  ['EXPIRED', 'card_expired', 'state file: expired'],
  ['INACTIVE', 'card_unactivated', 'state file: not activated'],
  ['NOT_IN_STATE_FILE', 'card_invalid', 'the card is not in the latest state file'],
  ['LOCKED', null, 'state file: locked (lost, disputed or audit)'],
  ['APPLIED', 'ok', 'claim result: applied'],
  ['CARD_NOT_FOUND', 'card_invalid', 'claim result: no such card'],
  ['PASSWORD_ERROR', 'wrong_secret', 'claim result: wrong password'],
  ['CARD_USED', 'card_used', 'claim result: card already used'],
  ['CARD_EXPIRED', 'card_expired', 'claim result: card expired'],
  ['CARD_INACTIVE', 'card_unactivated', 'claim result: card inactive'],
];
export const SEEDED_CODES: Record<string, Row[]> = {
  china_mobile: BOSS,
  china_unicom: BOSS,
  china_telecom: TELECOM,
  jd: ECARD,
  sinopec: ECARD,
  supermarket_chain: FILES,
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('issuer_routes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('card_type', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('capacity_per_minute', 'integer', (c) => c.notNull())
    .addColumn('timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('max_concurrency', 'integer', (c) => c.notNull())
    /** How long a pending (batch-file) redemption waits between lookups. */
    .addColumn('poll_ms', 'integer', (c) => c.notNull())
    .addColumn('app_id', 'text')
    .addColumn('app_secret_sealed', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('issuer_routes_card_type')
    .on('issuer_routes')
    .columns(['card_type', 'priority'])
    .execute();

  await db.schema
    .createTable('issuer_codes')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('raw_code', 'text', (c) => c.notNull())
    /** Null: ambiguous, the order goes to review with the raw code. */
    .addColumn('reason', 'text')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('issuer_codes_pk', ['issuer', 'raw_code'])
    .execute();
  const now = Date.now();
  const rows = Object.entries(SEEDED_CODES).flatMap(([issuer, codes]) =>
    codes.map(([raw_code, reason, description]) => ({
      issuer,
      raw_code,
      reason,
      description,
      updated_at: now,
    })),
  );
  await (db as Kysely<{ issuer_codes: (typeof rows)[number] }>)
    .insertInto('issuer_codes')
    .values(rows)
    .execute();

  const orders = db.schema.alterTable('orders');
  await orders.addColumn('issuer', 'text').execute();
  await orders.addColumn('route_id', 'text').execute();
  await orders.addColumn('actual_face_value', 'bigint').execute();
  await orders.addColumn('reason', 'text').execute();
  await orders.addColumn('raw_code', 'text').execute();
  await orders.addColumn('redemption_id', 'text').execute();
  /** none | sent | unknown | pending | confirmed | refused: what the issuer may have done with the card. */
  await orders.addColumn('redeem_state', 'text', (c) => c.notNull().defaultTo('none')).execute();
  await orders.addColumn('waiting_for', 'text').execute();
  await orders.addColumn('verified_at', 'bigint').execute();
  await db.schema
    .createIndex('orders_status_updated')
    .on('orders')
    .columns(['status', 'updated_at'])
    .execute();

  /** What to do when the issuer's face value differs from the declared one (docs/architecture.md#the-order-lifecycle). */
  await db.schema
    .alterTable('channels')
    .addColumn('face_value_policy', 'text', (c) => c.notNull().defaultTo('review'))
    .execute();
}
