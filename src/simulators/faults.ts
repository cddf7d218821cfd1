import { type Static, Type } from '@sinclair/typebox';

/**
 * Switchable trouble for a simulated issuer. Rates are probabilities per call; a call meets at most
 * one fault. Latency applies to every answer. See docs/simulators.md.
 * `pay` is the payout simulators' operation (docs/payouts.md), `send` the SMS gateway's (docs/sms.md);
 * issuer simulators never see them.
 */
export const SIM_OPERATIONS = ['inquire', 'redeem', 'lookup', 'pay', 'send'] as const;
export type SimOperation = (typeof SIM_OPERATIONS)[number];

const Rate = Type.Number({ minimum: 0, maximum: 1 });
export const FaultSettings = Type.Object(
  {
    /** Every answer waits latencyMs + uniform(0, jitterMs). */
    latencyMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    jitterMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    /** The issuer says it failed (HTTP 5xx, SOAP Server fault, JSON-RPC internal error); nothing is done. */
    errorRate: Rate,
    /**
     * No answer within hangMs, then the connection is dropped. For redeem and pay, half of these calls
     * are carried out before the silence: the caller cannot know which.
     */
    timeoutRate: Rate,
    /** The connection is reset before anything is done. */
    resetRate: Rate,
    /** The call is carried out but the answer is cut short (unparseable). */
    malformedRate: Rate,
    /** The issuer answers with its ambiguous code (one code, several meanings); nothing is done. */
    ambiguousRate: Rate,
    /**
     * Payout simulators that notify (WeChat style): the chance a notification is sent again (twice
     * or more), as real providers do. Drawn apart from the call faults; issuer simulators ignore it.
     */
    duplicateRate: Rate,
    hangMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
    /** Operations the rates apply to. */
    operations: Type.Array(Type.Union(SIM_OPERATIONS.map((o) => Type.Literal(o))), { uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type FaultSettings = Static<typeof FaultSettings>;
export const FaultPatch = Type.Partial(FaultSettings, { additionalProperties: false });
export type FaultPatch = Static<typeof FaultPatch>;

export const NO_FAULTS: FaultSettings = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  timeoutRate: 0,
  resetRate: 0,
  malformedRate: 0,
  ambiguousRate: 0,
  duplicateRate: 0,
  hangMs: 30_000,
  operations: [...SIM_OPERATIONS],
};

export type Fault = 'none' | 'error' | 'timeout' | 'reset' | 'malformed' | 'ambiguous';

/** Draws the fault for one call: one uniform number against the stacked rates. */
export function drawFault(settings: FaultSettings, op: SimOperation, random: () => number): Fault {
  if (!settings.operations.includes(op)) return 'none';
  let x = random();
  const order: [Fault, number][] = [
    ['error', settings.errorRate],
    ['timeout', settings.timeoutRate],
    ['reset', settings.resetRate],
    ['malformed', settings.malformedRate],
    ['ambiguous', settings.ambiguousRate],
  ];
  for (const [fault, rate] of order) {
    if (x < rate) return fault;
    x -= rate;
  }
  return 'none';
}

export function latencyOf(settings: FaultSettings, random: () => number): number {
  return settings.latencyMs + Math.floor(random() * (settings.jitterMs + 1));
}
