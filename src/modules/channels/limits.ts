import { type Static, Type } from '@sinclair/typebox';
import ipaddr from 'ipaddr.js';
import { CURRENCY_CODES } from '../../shared/money.js';
import type { ChannelsTable } from '../../storage/schema.js';
import type { ChannelKind, SettlementCycle } from './model.js';

/**
 * Channel policy and abuse limits (docs/limits.md): data on the channel, with defaults per kind at
 * creation. Kept apart from the rest of the channel so each concern reads (and merges) on its own.
 */

/** Order fields a channel may require of its orders. */
export const ORDER_FIELDS = ['platform_order_id', 'store_terminal_id', 'blockchain_address'] as const;
export type OrderField = (typeof ORDER_FIELDS)[number];

const Amount = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000_000_000 }), Type.Null()], { description });

export const ChannelLimits = Type.Object(
  {
    currency: Type.Union(
      CURRENCY_CODES.map((c) => Type.Literal(c)),
      {
        description:
          "Currency of the amounts below. The card's currency: its declared face value is compared; the payout currency (e.g. USDT): the order's locked payout amount is (docs/limits.md#amounts).",
      },
    ),
    per_order_min: Amount('Smallest order, in minor units of `currency`; null: none.'),
    per_order_max: Amount('Largest order, in minor units of `currency`; null: none.'),
    daily_amount_cap: Amount(
      'Most taken in per business day (settlement time zone and cut-off), in minor units of `currency`; null: none.',
    ),
    daily_order_cap: Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), Type.Null()], {
      description: 'Most orders per business day; null: none.',
    }),
    rate_per_second: Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }), Type.Null()], {
      description: 'Signed requests per second the channel may make on average; null: RECARD_CHANNEL_RATE.',
    }),
    rate_burst: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], {
      description: 'Requests it may make at once after a quiet spell; null: RECARD_CHANNEL_BURST.',
    }),
    ip_allowlist: Type.Array(Type.String({ minLength: 2, maxLength: 49 }), {
      maxItems: 100,
      description:
        'Addresses or CIDRs (`203.0.113.0/24`, `2001:db8::/32`) signed calls may come from; empty: any.',
    }),
    required_fields: Type.Array(Type.Union(ORDER_FIELDS.map((f) => Type.Literal(f))), {
      maxItems: ORDER_FIELDS.length,
      uniqueItems: true,
      description: 'Order fields every order must carry.',
    }),
  },
  { title: 'ChannelLimits' },
);
export type ChannelLimits = Static<typeof ChannelLimits>;

export const ChannelLimitsPatch = Type.Partial(ChannelLimits, {
  additionalProperties: false,
  minProperties: 1,
  title: 'ChannelLimitsPatch',
});
export type ChannelLimitsPatch = Static<typeof ChannelLimitsPatch>;

const OPEN: Omit<ChannelLimits, 'currency' | 'per_order_min' | 'per_order_max' | 'required_fields'> = {
  daily_amount_cap: null,
  daily_order_cap: null,
  rate_per_second: null,
  rate_burst: null,
  ip_allowlist: [],
};

/** What a new channel of each kind starts with (docs/limits.md#defaults-per-kind); an admin changes any. */
export const KIND_DEFAULTS: Record<
  ChannelKind,
  { cycle: SettlementCycle; settlementCurrency: 'USDT' | null; limits: ChannelLimits }
> = {
  ecommerce: {
    cycle: 'T1',
    settlementCurrency: null,
    limits: {
      ...OPEN,
      currency: 'CNY',
      per_order_min: 10_00,
      per_order_max: 5_000_00,
      required_fields: ['platform_order_id'],
    },
  },
  merchant: {
    cycle: 'T3',
    settlementCurrency: null,
    limits: {
      ...OPEN,
      currency: 'CNY',
      per_order_min: 100_00,
      per_order_max: 10_000_00,
      required_fields: [],
    },
  },
  crypto: {
    cycle: 'T0',
    settlementCurrency: 'USDT',
    limits: {
      ...OPEN,
      currency: 'USDT',
      per_order_min: 5_000_000,
      per_order_max: 500_000_000,
      required_fields: ['blockchain_address'],
    },
  },
  h5: {
    cycle: 'T0',
    settlementCurrency: null,
    limits: { ...OPEN, currency: 'CNY', per_order_min: null, per_order_max: null, required_fields: [] },
  },
};

/** The channel row's limit columns (the table type is the one definition). */
export type LimitColumns = Pick<
  ChannelsTable,
  | 'limit_currency'
  | 'order_min'
  | 'order_max'
  | 'daily_amount_cap'
  | 'daily_order_cap'
  | 'rate_per_second'
  | 'rate_burst'
  | 'ip_allowlist'
  | 'required_fields'
>;

/** The columns of the limits given (a patch sets only those). */
export function limitColumns(l: Partial<ChannelLimits>): Partial<LimitColumns> {
  const out: Partial<LimitColumns> = {};
  if (l.currency !== undefined) out.limit_currency = l.currency;
  if (l.per_order_min !== undefined) out.order_min = l.per_order_min;
  if (l.per_order_max !== undefined) out.order_max = l.per_order_max;
  if (l.daily_amount_cap !== undefined) out.daily_amount_cap = l.daily_amount_cap;
  if (l.daily_order_cap !== undefined) out.daily_order_cap = l.daily_order_cap;
  if (l.rate_per_second !== undefined) out.rate_per_second = l.rate_per_second;
  if (l.rate_burst !== undefined) out.rate_burst = l.rate_burst;
  if (l.ip_allowlist !== undefined) out.ip_allowlist = JSON.stringify(l.ip_allowlist.map(normaliseCidr));
  if (l.required_fields !== undefined) out.required_fields = JSON.stringify(l.required_fields);
  return out;
}

// PostgreSQL returns bigint columns as numbers here (storage/database.ts), SQLite REAL as a number.
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function limitsView(row: LimitColumns): ChannelLimits {
  return {
    currency: row.limit_currency as ChannelLimits['currency'],
    per_order_min: num(row.order_min),
    per_order_max: num(row.order_max),
    daily_amount_cap: num(row.daily_amount_cap),
    daily_order_cap: num(row.daily_order_cap),
    rate_per_second: num(row.rate_per_second),
    rate_burst: num(row.rate_burst),
    ip_allowlist: JSON.parse(row.ip_allowlist) as string[],
    required_fields: JSON.parse(row.required_fields) as OrderField[],
  };
}

/** `10.0.0.1` → `10.0.0.1/32`; a CIDR as given, its network part canonical. */
function normaliseCidr(text: string): string {
  const [addr, bits] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), undefined];
  const prefix = bits ?? (addr.kind() === 'ipv4' ? 32 : 128);
  return `${addr.toString()}/${prefix}`;
}

/** Why limits (as they would be after a change) are not acceptable: the field at fault, or null. */
export function checkLimits(
  next: Partial<ChannelLimits>,
  prefix = 'limits',
): { field: string; message: string } | null {
  for (const [i, cidr] of (next.ip_allowlist ?? []).entries()) {
    const valid = cidr.includes('/') ? ipaddr.isValidCIDR(cidr) : ipaddr.isValid(cidr);
    if (!valid)
      return { field: `${prefix}.ip_allowlist.${i}`, message: `${cidr} is not an address or CIDR.` };
  }
  const { per_order_min: min, per_order_max: max } = next;
  if (min != null && max != null && min > max)
    return { field: `${prefix}.per_order_min`, message: 'per_order_min is larger than per_order_max.' };
  return null;
}

const parsedLists = new Map<string, [ipaddr.IPv4 | ipaddr.IPv6, number][]>();

/** Whether a call from `ip` may use a channel with this allowlist (empty: any address). */
export function ipAllowed(allowlist: readonly string[], ip: string): boolean {
  if (allowlist.length === 0) return true;
  if (!ipaddr.isValid(ip)) return false;
  const key = allowlist.join(',');
  let nets = parsedLists.get(key);
  if (!nets) {
    nets = allowlist.map((c) => ipaddr.parseCIDR(c));
    if (parsedLists.size > 1000) parsedLists.clear();
    parsedLists.set(key, nets);
  }
  // An IPv4 client seen as ::ffff:a.b.c.d (dual-stack sockets) is matched as the IPv4 address it is.
  const parsed = ipaddr.process(ip);
  return nets.some(([net, bits]) => parsed.kind() === net.kind() && parsed.match(net, bits));
}
