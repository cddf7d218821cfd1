import type { Kysely } from 'kysely';

/**
 * Fraud rings (docs/risk-rings.md): the subjects each seller was seen with at intake (devices, IPs,
 * payout destinations, only as keyed hashes with a masked label), the rejected and frozen orders
 * per seller, and the last computation of groups of sellers linked by shared subjects.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('risk_seller_links')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    /** `device`, `ip` or `destination`. */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** Keyed hash (hex) of the value: the value itself is never stored. */
    .addColumn('value_hash', 'text', (c) => c.notNull())
    /** What people see of the value: a device's last four characters, an IPv4 /24, an account's last four. */
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    /** Intakes that recorded this link. */
    .addColumn('orders', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_seller_links_pk', ['channel_id', 'seller_id', 'kind', 'value_hash'])
    .execute();
  // Who else was seen with a value (the rings job groups by it).
  await db.schema
    .createIndex('risk_seller_links_value')
    .on('risk_seller_links')
    .columns(['kind', 'value_hash'])
    .execute();

  await db.schema
    .createTable('risk_seller_outcomes')
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    .addColumn('rejected', 'integer', (c) => c.notNull())
    .addColumn('frozen', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_seller_outcomes_pk', ['channel_id', 'seller_id'])
    .execute();

  await db.schema
    .createTable('risk_rings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('bad_members', 'integer', (c) => c.notNull())
    .addColumn('flagged', 'integer', (c) => c.notNull())
    /** JSON: the shared values that link the members (kind, label, which members share each). */
    .addColumn('links', 'text', (c) => c.notNull())
    /** When a group of exactly these members was first computed (kept across recomputations). */
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('computed_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('risk_rings_flagged').on('risk_rings').columns(['flagged', 'id']).execute();

  // A seller is in one ring at most (rings are connected components).
  await db.schema
    .createTable('risk_ring_members')
    .addColumn('ring_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('seller_id', 'text', (c) => c.notNull())
    /** The member's rejected and frozen orders when the ring was computed. */
    .addColumn('rejected', 'integer', (c) => c.notNull())
    .addColumn('frozen', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('risk_ring_members_pk', ['channel_id', 'seller_id'])
    .execute();
  await db.schema.createIndex('risk_ring_members_ring').on('risk_ring_members').column('ring_id').execute();
}
