import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * The risk engine's vocabulary (docs/risk.md). A rule answers one of four decisions; the strongest
 * enforced one wins. Rules are data: each has a schema for its thresholds, defaults, and a mode.
 */
export const DECISIONS = ['allow', 'review', 'freeze', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/** Strength order: a reject outranks a freeze, which outranks a review. */
export const STRENGTH: Record<Decision, number> = { allow: 0, review: 1, freeze: 2, reject: 3 };

export const STAGES = ['intake', 'issuer'] as const;
export type Stage = (typeof STAGES)[number];

export const RULE_MODES = ['enforce', 'shadow'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

/** What a suspicious-activity report is about. */
export const REPORT_KINDS = ['blacklisted_card', 'stolen_card', 'structuring'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** The subjects velocity counts and blacklists name. */
export const VELOCITY_SUBJECTS = ['seller', 'device', 'ip', 'destination'] as const;
export type VelocitySubject = (typeof VELOCITY_SUBJECTS)[number];
export const BLACKLIST_KINDS = ['card', 'seller', 'device', 'ip', 'destination'] as const;
export type BlacklistKind = (typeof BLACKLIST_KINDS)[number];

const Count = (description: string, d: number) =>
  Type.Integer({ minimum: 1, maximum: 1_000_000, default: d, description });
const Amount = (description: string, d: number) =>
  Type.Integer({ minimum: 1, maximum: 1_000_000_000_000, default: d, description });
const Window = (description: string, d: number) =>
  Type.Integer({ minimum: 60_000, maximum: 31 * 86_400_000, default: d, description });

const Limits = Type.Object(
  {
    orders: Count('more orders than this in the window fire the rule', 20),
    amount: Amount(
      'more than this amount (minor units of the card currency) in the window fires the rule',
      500_000,
    ),
  },
  { additionalProperties: false },
);

/** Each rule's thresholds: the schema an admin's change is checked against, and the defaults. */
export const RULE_PARAMS = {
  card_testing: Type.Object(
    {
      checks: Count(
        'checks of one card number within the lockout window (RECARD_LOCKOUT_CARD_TRIES_WINDOW_MS) that freeze it',
        3,
      ),
    },
    { additionalProperties: false },
  ),
  velocity: Type.Object(
    {
      subjects: Type.Array(Type.Union(VELOCITY_SUBJECTS.map((s) => Type.Literal(s))), {
        uniqueItems: true,
        maxItems: 4,
        default: [...VELOCITY_SUBJECTS],
      }),
      hour: Limits,
      day: Limits,
    },
    { additionalProperties: false },
  ),
  geo_jump: Type.Object(
    {
      km: Type.Integer({
        minimum: 1,
        maximum: 20_000,
        default: 500,
        description: 'a move farther than this fires',
      }),
      window_ms: Window('within this long of the last located order', 6 * 3_600_000),
    },
    { additionalProperties: false },
  ),
  amount_anomaly: Type.Object(
    {
      sigmas: Type.Number({ minimum: 1, maximum: 20, default: 3 }),
      min_samples: Count('the running statistics need this many orders before the rule judges', 30),
      common_share: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.0025,
        description:
          'a face value making up at least this share of the orders in the statistics is a usual one, never an anomaly (0: the bare 3σ test)',
      }),
      common_min: Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: 2,
        description: 'and at least this many of them: one or two cards of a value are not yet a habit',
      }),
      window_ms: Window(
        'statistics are kept per window of this length (merged with the one before)',
        86_400_000,
      ),
    },
    { additionalProperties: false },
  ),
  blacklist: Type.Object(
    {
      kinds: Type.Array(Type.Union(BLACKLIST_KINDS.map((s) => Type.Literal(s))), {
        uniqueItems: true,
        maxItems: 5,
        default: [...BLACKLIST_KINDS],
      }),
    },
    { additionalProperties: false },
  ),
  device_mismatch: Type.Object({}, { additionalProperties: false }),
  new_account_high_value: Type.Object(
    {
      max_age_days: Count('an account younger than this many days', 7),
      amount: Amount('handing in more than this face value (minor units) fires the rule', 100_000),
    },
    { additionalProperties: false },
  ),
  structuring: Type.Object(
    {
      limit: Amount('the limit sellers stay under (minor units)', 500_000),
      band_percent: Type.Integer({
        minimum: 1,
        maximum: 50,
        default: 10,
        description: 'just under: within this share below the limit',
      }),
      orders: Count('this many orders in the band within the window fire the rule', 3),
      window_ms: Window('the window', 86_400_000),
    },
    { additionalProperties: false },
  ),
  stolen_card: Type.Object({}, { additionalProperties: false }),
  ring_member: Type.Object({}, { additionalProperties: false }),
} satisfies Record<string, TSchema>;

export type RuleId = keyof typeof RULE_PARAMS;
export const RULE_IDS = Object.keys(RULE_PARAMS) as RuleId[];
export type RuleParams<R extends RuleId> = Static<(typeof RULE_PARAMS)[R]>;

/** Each rule's thresholds until an admin changes them (docs/risk.md#rules). */
export const DEFAULT_PARAMS: { [R in RuleId]: RuleParams<R> } = {
  card_testing: { checks: 3 },
  velocity: {
    subjects: [...VELOCITY_SUBJECTS],
    hour: { orders: 20, amount: 1_000_000 },
    day: { orders: 100, amount: 2_000_000 },
  },
  geo_jump: { km: 500, window_ms: 6 * 3_600_000 },
  amount_anomaly: { sigmas: 3, min_samples: 30, common_share: 0.0025, common_min: 2, window_ms: 86_400_000 },
  blacklist: { kinds: [...BLACKLIST_KINDS] },
  device_mismatch: {},
  new_account_high_value: { max_age_days: 7, amount: 100_000 },
  structuring: { limit: 500_000, band_percent: 10, orders: 3, window_ms: 86_400_000 },
  stolen_card: {},
  ring_member: {},
};

/** What each rule decides when it fires, and at which stage it runs. */
export const RULE_SPECS: Record<RuleId, { decision: Decision; stage: Stage; summary: string }> = {
  card_testing: { decision: 'freeze', stage: 'intake', summary: 'the same card number checked too often' },
  velocity: {
    decision: 'review',
    stage: 'intake',
    summary: 'too many orders or too much amount per subject',
  },
  geo_jump: {
    decision: 'review',
    stage: 'intake',
    summary: "the seller's IP location moved too far too fast",
  },
  amount_anomaly: { decision: 'review', stage: 'intake', summary: 'face value far from the running mean' },
  blacklist: {
    decision: 'reject',
    stage: 'intake',
    summary: 'a blacklisted card, seller, device, IP or destination',
  },
  device_mismatch: { decision: 'review', stage: 'intake', summary: 'a device never seen with this seller' },
  new_account_high_value: {
    decision: 'review',
    stage: 'intake',
    summary: 'a young account handing in a lot',
  },
  structuring: { decision: 'freeze', stage: 'intake', summary: 'many orders just under a limit' },
  stolen_card: { decision: 'freeze', stage: 'issuer', summary: 'the issuer reports the card stolen' },
  ring_member: {
    decision: 'review',
    stage: 'intake',
    summary: 'a seller of a fraud ring the rings job flagged',
  },
};

/** A rule as it runs: its settings, whether it is enforced, and its thresholds. */
export interface RuleSetting<R extends RuleId = RuleId> {
  id: R;
  enabled: boolean;
  mode: RuleMode;
  params: RuleParams<R>;
  version: number;
}

/** One rule's answer when it fires. */
export interface Firing {
  decision: Decision;
  /** Short machine-readable reasons with the figures that made the rule fire. */
  reasons: string[];
  /** A serious case: a suspicious-activity report is filed with the evidence. */
  report?: ReportKind;
  /** Ask the seller for a step-up SMS code. */
  stepUp?: boolean;
}

/** A fired rule as recorded on the order. */
export interface FiredRule extends Firing {
  rule: RuleId;
  /** Recorded but not enforced. */
  shadow: boolean;
}

export const FiredRuleView = Type.Object({
  rule: Type.Union(RULE_IDS.map((r) => Type.Literal(r))),
  decision: Type.Union(DECISIONS.map((d) => Type.Literal(d))),
  reasons: Type.Array(Type.String()),
  shadow: Type.Boolean({ description: 'recorded but not enforced' }),
  report: Type.Optional(Type.Union(REPORT_KINDS.map((k) => Type.Literal(k)))),
  step_up: Type.Optional(Type.Boolean()),
});

export const AssessmentView = Type.Object({
  id: Type.String({ examples: ['rsk_01m82bdkm43j64m14csvx1b6m1'] }),
  order_id: Type.String(),
  stage: Type.Union(STAGES.map((s) => Type.Literal(s))),
  decision: Type.Union(
    DECISIONS.map((d) => Type.Literal(d)),
    { description: 'what was enforced' },
  ),
  fired: Type.Array(FiredRuleView),
  created_at: Type.String({ format: 'date-time' }),
});
export type AssessmentView = Static<typeof AssessmentView>;

/** The order reason a held order shows its channel: which rule fired is for reviewers only. */
export const HOLD_REASONS: Record<Exclude<Decision, 'allow'>, string> = {
  review: 'risk_review',
  freeze: 'risk_frozen',
  reject: 'risk_rejected',
};
