import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';

/** What a counter or a lockout is about. A card is known by its keyed hash only. */
export const SUBJECT_KINDS = ['card', 'seller', 'device', 'ip'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** What is counted: a submission of a card (`try`), or the issuer's "wrong secret / no such card". */
export type Metric = 'try' | 'wrong_secret';

/** Why a lockout was put in place. */
export const LOCKOUT_REASONS = ['tries', 'wrong_secrets'] as const;
export type LockoutReason = (typeof LOCKOUT_REASONS)[number];

/** The thresholds (RECARD_LOCKOUT_* settings). */
export interface LockoutSettings {
  /** Tries of one card within `cardTriesWindowMs` that lock it (the try that reaches it still passes). */
  cardTries: number;
  cardTriesWindowMs: number;
  /** Wrong secrets of one card within `wrongSecretsWindowMs` that lock it. */
  cardWrongSecrets: number;
  /** Wrong secrets per seller, device or end-user IP within `wrongSecretsWindowMs` that block it. */
  sellerWrongSecrets: number;
  deviceWrongSecrets: number;
  ipWrongSecrets: number;
  wrongSecretsWindowMs: number;
  /** How long a lockout lasts unless an admin releases it. */
  durationMs: number;
}

/** Issuer reasons that count as a wrong secret: the secret is wrong, or no card has this number and secret. */
export const WRONG_SECRET_REASONS: readonly string[] = ['wrong_secret', 'card_invalid'];

const Time = Type.String({ format: 'date-time' });

export const LockoutView = Type.Object(
  {
    id: Type.String({ examples: ['lck_01m82bdkm43j64m14csvx1b6m1'] }),
    subject_kind: Type.Union(SUBJECT_KINDS.map((k) => Type.Literal(k))),
    subject: Type.String({
      description:
        'Who is locked out, for people: a card type and masked number (never the number), a channel and seller or device id, or an IP.',
      examples: ['cmcc_national *************1234'],
    }),
    reason: Type.Union(LOCKOUT_REASONS.map((r) => Type.Literal(r))),
    state: Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('expired')]),
    created_at: Time,
    expires_at: Time,
    released_at: Type.Union([Time, Type.Null()]),
  },
  { title: 'Lockout' },
);
export type LockoutView = Static<typeof LockoutView>;

export const LockoutList = Type.Object({ data: Type.Array(LockoutView) });
export type LockoutList = Static<typeof LockoutList>;

export const LockoutListQuery = Type.Object(
  {
    subject_kind: Type.Optional(Type.Union(SUBJECT_KINDS.map((k) => Type.Literal(k)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type LockoutListQuery = Static<typeof LockoutListQuery>;

export const LockoutParams = Type.Object({ id: Type.String({ pattern: '^lck_[0-9a-z]{26}$' }) });

/** Removes counters whose window has passed and lockouts that ended long ago. */
export const PRUNE_LOCKOUTS = defineJobKind<{ keep_ms: number }>({
  kind: 'lockouts.prune',
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: { baseMs: 5_000, capMs: 60_000 },
});
