/**
 * What the issuer may have done with a card, kept on the order so that a crash or a retry never
 * redeems twice: the redeem sub-state of a `verifying` order, pure. `sent`, `unknown` and `pending`
 * are settled by lookup only; a redeem may be sent only from `none`.
 */
export const REDEEM_STATES = ['none', 'sent', 'unknown', 'pending', 'confirmed', 'refused'] as const;
export type RedeemState = (typeof REDEEM_STATES)[number];

export const REDEEM_STEPS = [
  /** The redeem is about to leave this process (written and committed before the call). */
  'send',
  /** The call never left this process (no connection, bulkhead full): it may be sent later. */
  'not_sent',
  /** No definite answer (timeout, "busy", an ambiguous code): only a lookup may say. */
  'outcome_unknown',
  /** The issuer took it and confirms later (batch files); also a lookup that still says "pending". */
  'await_confirmation',
  'confirm',
  'refuse',
  /** A lookup says the issuer never redeemed it: the same redemption id may be sent again. */
  'not_redeemed',
] as const;
export type RedeemStep = (typeof REDEEM_STEPS)[number];

const SETTLING: Readonly<Partial<Record<RedeemStep, RedeemState>>> = {
  await_confirmation: 'pending',
  confirm: 'confirmed',
  refuse: 'refused',
  not_redeemed: 'none',
};

const STEPS: { readonly [S in RedeemState]: Readonly<Partial<Record<RedeemStep, RedeemState>>> } = {
  none: { send: 'sent' },
  // `sent` is also what a crash between the call and its answer leaves: a lookup settles it too.
  sent: {
    not_sent: 'none',
    outcome_unknown: 'unknown',
    await_confirmation: 'pending',
    confirm: 'confirmed',
    refuse: 'refused',
    not_redeemed: 'none',
  },
  unknown: SETTLING,
  pending: SETTLING,
  confirmed: {},
  refused: {},
};

export type RedeemTransition =
  | { ok: true; from: RedeemState; step: RedeemStep; to: RedeemState }
  | { ok: false; from: RedeemState; step: RedeemStep };

export function redeemStep(from: RedeemState, step: RedeemStep): RedeemTransition {
  const to = STEPS[from][step];
  return to === undefined ? { ok: false, from, step } : { ok: true, from, step, to };
}

/** A redeem may have reached the issuer: settle by lookup, never send. */
export function needsLookup(state: RedeemState): boolean {
  return state === 'sent' || state === 'unknown' || state === 'pending';
}

export function isRedeemState(value: string): value is RedeemState {
  return (REDEEM_STATES as readonly string[]).includes(value);
}
