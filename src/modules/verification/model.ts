import { type Static, Type } from '@sinclair/typebox';
import { ISSUER_PROTOCOLS } from '../../adapters/issuers/port.js';
import { defineJobKind } from '../../jobs/model.js';

/**
 * Normalised reasons an order shows (`reason`), whatever the issuer's own words (`raw_code`).
 * Card reasons come from the issuers' mapping tables; the rest from the gateway itself.
 */
export const CARD_REASONS = [
  'card_invalid',
  'card_used',
  'card_expired',
  'card_unactivated',
  'wrong_secret',
  /** The issuer reports the card lost or stolen: risk freezes the order (docs/risk.md), else it is invalid. */
  'card_reported_stolen',
] as const;
export const VERIFY_REASONS = [
  ...CARD_REASONS,
  'face_value_mismatch',
  /** Transient trouble (also a mapping-table reason: "system busy"). */
  'issuer_unavailable',
  /** A raw code listed as ambiguous: one code, several meanings. */
  'ambiguous_code',
  /** A raw code missing from the issuer's table. */
  'unknown_code',
  /** A redeem may have consumed the card and nobody could find out: a person must. */
  'redemption_unknown',
  /** No enabled route serves the card type. */
  'no_route',
  /** The issuer refused our request itself (signature, parameters): a configuration error. */
  'issuer_rejected_request',
  /** The stored card could not be decrypted. */
  'card_unreadable',
] as const;
export type VerifyReason = (typeof VERIFY_REASONS)[number];

/** Reasons a mapping-table row may hold (null there means ambiguous). */
export const CODE_REASONS = ['ok', ...CARD_REASONS, 'issuer_unavailable'] as const;
export type CodeReason = (typeof CODE_REASONS)[number];

/** Finds orders left in submitted/verifying without a live job and hands them back to the worker. */
export const SWEEP_VERIFYING = defineJobKind<{ stuck_after_ms: number }>({
  kind: 'orders.sweep_verifying',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});

const Slug = Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$' });

/** An issuer route as operators write it (PUT /admin/v1/issuer-routes/{id}). The app secret is write-only. */
export const RouteInput = Type.Object(
  {
    card_type: Slug,
    issuer: Slug,
    protocol: Type.Union(ISSUER_PROTOCOLS.map((p) => Type.Literal(p))),
    endpoint: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }),
    priority: Type.Integer({ minimum: 0, maximum: 1000, description: 'Lower goes first.' }),
    capacity_per_minute: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    timeout_ms: Type.Integer({ minimum: 50, maximum: 120_000, default: 3000 }),
    max_concurrency: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
    poll_ms: Type.Integer({
      minimum: 100,
      maximum: 86_400_000,
      default: 60_000,
      description: 'Wait between lookups of a redemption the issuer confirms later (batch files).',
    }),
    app_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    app_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Write-only.' })),
    enabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type RouteInput = Static<typeof RouteInput>;

export const RouteView = Type.Object(
  {
    id: Type.String(),
    card_type: Type.String(),
    issuer: Type.String(),
    protocol: Type.String(),
    endpoint: Type.String(),
    priority: Type.Integer(),
    capacity_per_minute: Type.Integer(),
    timeout_ms: Type.Integer(),
    max_concurrency: Type.Integer(),
    poll_ms: Type.Integer(),
    app_id: Type.Union([Type.String(), Type.Null()]),
    has_app_secret: Type.Boolean(),
    enabled: Type.Boolean(),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'IssuerRoute' },
);
export type RouteView = Static<typeof RouteView>;
export const RouteParams = Type.Object({ id: Slug });
export const RouteList = Type.Object({ data: Type.Array(RouteView) });

export const CodeInput = Type.Object(
  {
    reason: Type.Union([Type.Union(CODE_REASONS.map((r) => Type.Literal(r))), Type.Null()], {
      description: 'null marks the code ambiguous: orders meeting it go to review.',
    }),
    description: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type CodeInput = Static<typeof CodeInput>;
export const CodeView = Type.Object(
  {
    issuer: Type.String(),
    raw_code: Type.String(),
    reason: Type.Union([Type.String(), Type.Null()]),
    ambiguous: Type.Boolean(),
    description: Type.String(),
  },
  { title: 'IssuerCode' },
);
export const CodeParams = Type.Object({
  issuer: Slug,
  raw_code: Type.String({ minLength: 1, maxLength: 64 }),
});
export const CodeQuery = Type.Object({ issuer: Type.Optional(Slug) }, { additionalProperties: false });
export const CodeList = Type.Object({ data: Type.Array(CodeView) });
