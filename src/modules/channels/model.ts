import { type Static, Type } from '@sinclair/typebox';
import { safeEqual } from '../../shared/crypto.js';
import { CURRENCY_CODES } from '../../shared/money.js';
import { ChannelLimits, ChannelLimitsPatch } from './limits.js';

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

/** How callbacks to the channel look and count as acknowledged (docs/webhooks.md). */
export const CALLBACK_FORMATS = ['standard', 'classic_form'] as const;
export type CallbackFormat = (typeof CALLBACK_FORMATS)[number];
export const CALLBACK_ACKS = ['any_2xx', 'success_body'] as const;
export type CallbackAck = (typeof CALLBACK_ACKS)[number];
/** MD5 is weak: only an admin can choose it, for a channel whose system knows nothing else. */
export const CALLBACK_SIGN_TYPES = ['HMAC-SHA256', 'MD5'] as const;
export type CallbackSignType = (typeof CALLBACK_SIGN_TYPES)[number];

const HostName = Type.String({ pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$', maxLength: 253 });

export const CallbackSettings = Type.Object(
  {
    format: Type.Union(
      CALLBACK_FORMATS.map((f) => Type.Literal(f)),
      {
        description:
          '`standard`: JSON signed per Standard Webhooks; `classic_form`: form fields with a `sign` (docs/webhooks.md#classic-notify-format).',
      },
    ),
    ack: Type.Union(
      CALLBACK_ACKS.map((a) => Type.Literal(a)),
      {
        description: '`any_2xx`: any 2xx answer acknowledges; `success_body`: only a body of `success` does.',
      },
    ),
    sign_type: Type.Union(
      CALLBACK_SIGN_TYPES.map((a) => Type.Literal(a)),
      { description: 'How `classic_form` is signed. MD5 is weak; only for systems that know nothing else.' },
    ),
    allowed_hosts: Type.Array(HostName, {
      maxItems: 50,
      description: "Hosts an order's callback_url may name; empty: any host the outbound rules allow.",
    }),
  },
  { title: 'CallbackSettings' },
);
export type CallbackSettings = Static<typeof CallbackSettings>;

/** How and when the channel's sellers are paid (docs/settlement.md). */
export const SETTLEMENT_CYCLES = ['T0', 'T1', 'T3'] as const;
export type SettlementCycle = (typeof SETTLEMENT_CYCLES)[number];
const MinorUnits = (description: string) =>
  Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description });
export const SettlementSettings = Type.Object(
  {
    cycle: Type.Union(
      SETTLEMENT_CYCLES.map((c) => Type.Literal(c)),
      {
        description:
          '`T0`: paid as soon as credited; `T1`: one batch a day after the cut-off; `T3`: a batch on day +3, paid once finance approves it.',
      },
    ),
    cutoff: Type.String({
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: 'HH:MM in time_zone: orders credited before it belong to that business day.',
    }),
    time_zone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, e.g. Asia/Shanghai.' }),
    escrow: Type.Boolean({
      description: "Hold the seller's amount from intake until the issuer answers (e-commerce flow).",
    }),
    min_payout: MinorUnits('A payout waits until the seller is owed at least this much.'),
    payout_fee: MinorUnits("Taken from each payout, in the payout's currency."),
    seller_daily_payout_cap: Type.Union([
      MinorUnits('Most paid to one seller per business day.'),
      Type.Null(),
    ]),
  },
  { title: 'SettlementSettings' },
);
export type SettlementSettings = Static<typeof SettlementSettings>;

/**
 * How a channel may sign its calls (docs/signing.md#schemes): HMAC with its API secret, or a private
 * key whose public half it registered. HMAC-SM3 belongs to the GM suite (docs/crypto-suites.md).
 */
export const SIGNATURE_SCHEMES = ['HMAC-SHA256', 'RSA-SHA256', 'SM2-SM3', 'HMAC-SM3'] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];
export const KEY_ALGORITHMS = ['RSA-SHA256', 'SM2-SM3'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
const SchemeSchema = Type.Union(SIGNATURE_SCHEMES.map((s) => Type.Literal(s)));
const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lower-case hex SHA-256.' });

export const AuthSettings = Type.Object(
  {
    schemes: Type.Array(SchemeSchema, {
      minItems: 1,
      maxItems: 4,
      uniqueItems: true,
      description: 'Signature schemes the channel may sign with (`X-Recard-Sign-Type`).',
    }),
    require_token: Type.Boolean({
      description: 'Every call also carries an OAuth 2.0 access token from POST /oauth/token (e-commerce).',
    }),
    client_cert_sha256: Type.Union([Sha256Hex, Type.Null()], {
      description:
        'Bound to this client certificate (SHA-256 of its DER): calls must come over mutual TLS with it.',
    }),
  },
  { title: 'AuthSettings' },
);
export type AuthSettings = Static<typeof AuthSettings>;

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
    callbacks: CallbackSettings,
    settlement: SettlementSettings,
    auth: AuthSettings,
    limits: ChannelLimits,
    previous_secret_valid_until: Type.Object(
      {
        api: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        webhook: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      },
      {
        description:
          'While a rotation overlaps: until when the secret before it still verifies (api) or signs (webhook).',
      },
    ),
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
  settlement: Type.Optional(Type.Partial(SettlementSettings, { additionalProperties: false })),
  auth: Type.Optional(Type.Partial(AuthSettings, { additionalProperties: false })),
  /** Unset ones take the kind's defaults (docs/limits.md#defaults-per-kind). */
  limits: Type.Optional(Type.Partial(ChannelLimits, { additionalProperties: false })),
});
export type NewChannel = Static<typeof NewChannel>;

/** What an admin may change of a channel's commercial settings (PATCH /admin/v1/channels/{id}). */
export const ChannelPatch = Type.Object(
  {
    face_value_policy: Type.Optional(FaceValuePolicySchema),
    group_id: Type.Optional(GroupRef),
    settlement_currency: Type.Optional(SettlementCurrency),
    callback_url: Type.Optional(
      Type.Union([Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), Type.Null()], {
        description: "Where the channel's order events go when an order names no callback_url.",
      }),
    ),
    callbacks: Type.Optional(
      Type.Partial(CallbackSettings, {
        additionalProperties: false,
        minProperties: 1,
        title: 'CallbackSettingsPatch',
      }),
    ),
    settlement: Type.Optional(
      Type.Partial(SettlementSettings, {
        additionalProperties: false,
        minProperties: 1,
        title: 'SettlementSettingsPatch',
      }),
    ),
    auth: Type.Optional(
      Type.Partial(AuthSettings, {
        additionalProperties: false,
        minProperties: 1,
        title: 'AuthSettingsPatch',
      }),
    ),
    limits: Type.Optional(ChannelLimitsPatch),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ChannelPatch = Static<typeof ChannelPatch>;
export const ChannelParams = Type.Object({ id: Type.String({ pattern: '^ch_[0-9a-z]{26}$' }) });
export const ChannelList = Type.Object({ data: Type.Array(ChannelView) });

/** A registered public key as the authenticator uses it. */
export interface ActiveKey {
  id: string;
  algorithm: KeyAlgorithm;
  publicKey: string;
}

/** A channel with its API secrets opened, for request authentication only. */
export interface ChannelCredentials {
  channel: ChannelView;
  /** Active registered public keys (several during a rotation). */
  keys: ActiveKey[];
  secret: string;
  /** The secret before a rotation, while its overlap lasts. */
  previous?: { secret: string; until: number };
}

/** Whether `secret` is the channel's API secret, or the one a rotation replaced while its overlap lasts. */
export function secretMatches(creds: ChannelCredentials, secret: string, nowMs: number): boolean {
  return (
    safeEqual(creds.secret, secret) ||
    (creds.previous !== undefined && creds.previous.until > nowMs && safeEqual(creds.previous.secret, secret))
  );
}

export const SECRET_KINDS = ['api', 'webhook'] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];
const SecretKindSchema = Type.Union(SECRET_KINDS.map((k) => Type.Literal(k)));

export const RotateSecretRequest = Type.Object(
  {
    kind: SecretKindSchema,
    overlap_s: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86_400,
        description: 'How long the secret being replaced keeps working (default RECARD_SECRET_OVERLAP_S).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateSecretRequest = Static<typeof RotateSecretRequest>;

export const RotatedSecret = Type.Object(
  {
    kind: SecretKindSchema,
    secret: Type.String({ description: 'Shown once. Store it before the overlap ends.' }),
    previous_valid_until: Type.String({ format: 'date-time' }),
  },
  { title: 'RotatedSecret' },
);
export type RotatedSecret = Static<typeof RotatedSecret>;

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

export const NewChannelKey = Type.Object(
  {
    public_key: Type.String({
      minLength: 64,
      maxLength: 8192,
      description:
        'PEM SubjectPublicKeyInfo (RSA ≥ 2048 bit, or SM2), or an SM2 point in hex (`04…`, 130 characters).',
    }),
  },
  { additionalProperties: false },
);
export const ChannelKeyView = Type.Object(
  {
    id: Type.String({ examples: ['ck_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    algorithm: Type.Union(KEY_ALGORITHMS.map((a) => Type.Literal(a))),
    fingerprint: Sha256Hex,
    status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
    public_key: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { title: 'ChannelKey' },
);
export type ChannelKeyView = Static<typeof ChannelKeyView>;
export const ChannelKeyList = Type.Object({ data: Type.Array(ChannelKeyView) });
export const ChannelKeyParams = Type.Object({
  id: Type.String({ pattern: '^ch_[0-9a-z]{26}$' }),
  key_id: Type.String({ pattern: '^ck_[0-9a-z]{26}$' }),
});
