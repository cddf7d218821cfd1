import { type Static, Type } from '@sinclair/typebox';
import { CURRENCY_CODES } from '../../shared/money.js';

export const CHANNEL_KINDS = ['ecommerce', 'merchant', 'crypto', 'h5'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const CHANNEL_STATUSES = ['active', 'disabled'] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];

/**
 * When the issuer's face value differs from the declared one (docs/architecture.md#the-order-lifecycle): redeem and settle the
 * actual value, hold the order for a person before redeeming, or refuse the card.
 */
export const FACE_VALUE_POLICIES = ['settle_actual', 'review', 'fail'] as const;
export type FaceValuePolicy = (typeof FACE_VALUE_POLICIES)[number];
const FaceValuePolicySchema = Type.Union(
  FACE_VALUE_POLICIES.map((p) => Type.Literal(p)),
  { description: 'What happens when the issuer reports another face value than the declared one.' },
);

const SettlementCurrency = Type.Union([Type.Union(CURRENCY_CODES.map((c) => Type.Literal(c))), Type.Null()], {
  description: "Currency the channel's sellers are paid in; null: the card's own currency.",
});
const GroupIdSchema = Type.String({
  pattern: '^[a-z][a-z0-9_-]{1,39}$',
  description: 'e.g. `agents_south`.',
});
const GroupRef = Type.Union([GroupIdSchema, Type.Null()], {
  description: 'Channel group ("agent") whose rate sheets apply when the channel has none of its own.',
});

export const ChannelView = Type.Object(
  {
    id: Type.String({ examples: ['ch_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    name: Type.String(),
    kind: Type.Union(CHANNEL_KINDS.map((k) => Type.Literal(k))),
    status: Type.Union(CHANNEL_STATUSES.map((s) => Type.Literal(s))),
    callback_url: Type.Union([Type.String({ format: 'uri' }), Type.Null()]),
    face_value_policy: FaceValuePolicySchema,
    group_id: GroupRef,
    settlement_currency: SettlementCurrency,
    created_at: Type.String({ format: 'date-time' }),
  },
  { title: 'Channel' },
);
export type ChannelView = Static<typeof ChannelView>;

export const NewChannel = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  kind: Type.Union(CHANNEL_KINDS.map((k) => Type.Literal(k))),
  callback_url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 })),
  face_value_policy: Type.Optional(FaceValuePolicySchema),
  group_id: Type.Optional(GroupRef),
  settlement_currency: Type.Optional(SettlementCurrency),
});
export type NewChannel = Static<typeof NewChannel>;

/** What an admin may change of a channel's commercial settings (PATCH /admin/v1/channels/{id}). */
export const ChannelPatch = Type.Object(
  {
    face_value_policy: Type.Optional(FaceValuePolicySchema),
    group_id: Type.Optional(GroupRef),
    settlement_currency: Type.Optional(SettlementCurrency),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ChannelPatch = Static<typeof ChannelPatch>;
export const ChannelParams = Type.Object({ id: Type.String({ pattern: '^ch_[0-9a-z]{26}$' }) });
export const ChannelList = Type.Object({ data: Type.Array(ChannelView) });

/** A channel with its API secret opened, for request authentication only. */
export interface ChannelCredentials {
  channel: ChannelView;
  secret: string;
}

/** Channel groups ("agents"): channels that share rate sheets. */
export const GroupInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);
export const GroupParams = Type.Object({ id: GroupIdSchema });
export const GroupView = Type.Object(
  { id: Type.String(), name: Type.String(), created_at: Type.String({ format: 'date-time' }) },
  { title: 'ChannelGroup' },
);
export type GroupView = Static<typeof GroupView>;
export const GroupList = Type.Object({ data: Type.Array(GroupView) });
