import { type Static, Type } from '@sinclair/typebox';
import { DESTINATION_KINDS } from '../../adapters/payouts/port.js';

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Name = Type.String({ minLength: 1, maxLength: 100 });
export const SellerId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' });

export const SellerView = Type.Object(
  {
    id: Type.String(),
    name: Nullable(Type.String({ description: 'As the latest order named the seller.' })),
    verified_name: Nullable(
      Type.String({ description: 'The real name on record; destinations must be in it.' }),
    ),
    verified: Type.Boolean({
      description: 'Identity checked by the channel: needed to be paid over ¥5,000 a day.',
    }),
    created_at: Time,
    updated_at: Time,
  },
  { title: 'Seller' },
);
export type SellerView = Static<typeof SellerView>;

export const SellerInput = Type.Object(
  {
    verified_name: Type.Optional(Name),
    verified: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SellerInput = Static<typeof SellerInput>;

export const SellerParams = Type.Object({ seller_id: SellerId });
export const DestinationParams = Type.Object({
  seller_id: SellerId,
  id: Type.String({ pattern: '^dst_[0-9a-z]{26}$' }),
});

const Kind = Type.Union(DESTINATION_KINDS.map((k) => Type.Literal(k)));

export const DestinationInput = Type.Object(
  {
    kind: Kind,
    account: Type.String({
      minLength: 1,
      maxLength: 120,
      description: 'Alipay account, WeChat openid, bank card number (Luhn-checked) or USDT address.',
    }),
    holder_name: Type.String({
      minLength: 1,
      maxLength: 100,
      description: "Must be the seller's verified name.",
    }),
    network: Type.Optional(Type.Union([Type.Literal('trc20'), Type.Literal('erc20')])),
    default: Type.Optional(
      Type.Boolean({ description: 'Pay here (the first destination of a currency is).' }),
    ),
  },
  { additionalProperties: false },
);
export type DestinationInput = Static<typeof DestinationInput>;

export const DestinationView = Type.Object(
  {
    id: Type.String({ examples: ['dst_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    seller_id: Type.String(),
    kind: Kind,
    account_masked: Type.String(),
    network: Nullable(Type.String()),
    holder_name: Type.String(),
    currency: Type.String({ description: 'What it is paid in: USDT for USDT addresses, CNY otherwise.' }),
    default: Type.Boolean(),
    created_at: Time,
  },
  { title: 'PayoutDestination' },
);
export type DestinationView = Static<typeof DestinationView>;

export const SellerList = Type.Object({ data: Type.Array(SellerView), next_cursor: Nullable(Type.String()) });
export const SellerListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(SellerId),
  },
  { additionalProperties: false },
);
export const DestinationList = Type.Object({ data: Type.Array(DestinationView) });
