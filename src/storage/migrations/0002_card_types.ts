import type { Kysely } from 'kysely';

const yuan = (...values: number[]) => JSON.stringify(values.map((v) => v * 100));
const MOBILE_FACES = yuan(10, 20, 30, 50, 100, 200, 300, 500);

/** The default catalogue (docs/architecture.md#the-card-catalogue). Operators change it at /admin/v1/card-types; this is only the start. */
const SEED = [
  [
    'cmcc_national',
    'China Mobile national recharge card',
    'china_mobile',
    'phone_recharge',
    '^\\d{17}$',
    '^\\d{18}$',
    'none',
    MOBILE_FACES,
  ],
  [
    'cmcc_zhejiang',
    'China Mobile Zhejiang recharge card',
    'china_mobile',
    'phone_recharge',
    '^\\d{10}$',
    '^\\d{8}$',
    'none',
    MOBILE_FACES,
  ],
  [
    'cmcc_jiangsu',
    'China Mobile Jiangsu recharge card',
    'china_mobile',
    'phone_recharge',
    '^\\d{16}$',
    '^\\d{17}$',
    'none',
    MOBILE_FACES,
  ],
  [
    'cmcc_liaoning',
    'China Mobile Liaoning recharge card',
    'china_mobile',
    'phone_recharge',
    '^\\d{16}$',
    '^\\d{21}$',
    'none',
    MOBILE_FACES,
  ],
  [
    'unicom_national',
    'China Unicom national recharge card',
    'china_unicom',
    'phone_recharge',
    '^\\d{15}$',
    '^\\d{19}$',
    'none',
    yuan(20, 30, 50, 100, 300, 500),
  ],
  // The fourth serial digit tells national (1) from Guangdong (2) Telecom cards.
  [
    'telecom_national',
    'China Telecom national recharge card',
    'china_telecom',
    'phone_recharge',
    '^\\d{3}1\\d{15}$',
    '^\\d{18}$',
    'none',
    yuan(50, 100),
  ],
  [
    'telecom_guangdong',
    'China Telecom Guangdong recharge card',
    'china_telecom',
    'phone_recharge',
    '^\\d{3}2\\d{15}$',
    '^\\d{18}$',
    'none',
    yuan(50, 100),
  ],
  [
    'jd_ecard',
    'JD E-card',
    'jd',
    'ecommerce_gift',
    '^(JDV\\d{17}|[A-Z0-9]{16})$',
    '^[0-9A-F]{16}$',
    'none',
    yuan(50, 100, 200, 300, 500, 1000, 2000, 5000),
  ],
  [
    'supermarket_gift',
    'Supermarket chain gift card',
    'supermarket_chain',
    'supermarket_gift',
    '^\\d{19}$',
    '^\\d{6}$',
    'luhn',
    yuan(100, 200, 500, 1000),
  ],
  [
    'sinopec_fuel',
    'Sinopec fuel recharge card',
    'sinopec',
    'fuel',
    '^\\d{13}$',
    '^\\d{16}$',
    'gtin',
    yuan(100, 200, 500, 1000),
  ],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('card_types')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('number_pattern', 'text', (c) => c.notNull())
    .addColumn('secret_pattern', 'text', (c) => c.notNull())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('face_values', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  const now = Date.now();
  await (db as Kysely<{ card_types: Record<string, unknown> }>)
    .insertInto('card_types')
    .values(
      SEED.map(([code, name, issuer, category, number_pattern, secret_pattern, checksum, face_values]) => ({
        code,
        name,
        issuer,
        category,
        number_pattern,
        secret_pattern,
        checksum,
        face_values,
        currency: 'CNY',
        enabled: 1,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}
