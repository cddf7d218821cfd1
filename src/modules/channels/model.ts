import { type Static, Type } from '@sinclair/typebox';

export const CHANNEL_KINDS = ['ecommerce', 'merchant', 'crypto', 'h5'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const CHANNEL_STATUSES = ['active', 'disabled'] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];

/**
 * When the issuer's face value differs from the declared one (design.md §4): redeem and settle the
 * actual value, hold the order for a person before redeeming, or refuse the card.
 */
export const FACE_VALUE_POLICIES = ['settle_actual', 'review', 'fail'] as const;
export type FaceValuePolicy = (typeof FACE_VALUE_POLICIES)[number];
const FaceValuePolicySchema = Type.Union(
  FACE_VALUE_POLICIES.map((p) => Type.Literal(p)),
  { description: 'What happens when the issuer reports another face value than the declared one.' },
);

export const ChannelView = Type.Object(
  {
    id: Type.String({ examples: ['ch_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    name: Type.String(),
    kind: Type.Union(CHANNEL_KINDS.map((k) => Type.Literal(k))),
    status: Type.Union(CHANNEL_STATUSES.map((s) => Type.Literal(s))),
    callback_url: Type.Union([Type.String({ format: 'uri' }), Type.Null()]),
    face_value_policy: FaceValuePolicySchema,
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
});
export type NewChannel = Static<typeof NewChannel>;

/** A channel with its API secret opened, for request authentication only. */
export interface ChannelCredentials {
  channel: ChannelView;
  secret: string;
}
