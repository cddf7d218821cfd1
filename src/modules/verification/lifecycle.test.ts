import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  needsLookup,
  REDEEM_STATES,
  REDEEM_STEPS,
  type RedeemState,
  type RedeemStep,
  redeemStep,
} from './lifecycle.js';

/** The redeem rules written out edge by edge, independently of the table in lifecycle.ts. */
const EDGES: [RedeemState, RedeemStep, RedeemState][] = [
  ['none', 'send', 'sent'],
  ['sent', 'not_sent', 'none'],
  ['sent', 'outcome_unknown', 'unknown'],
  ['sent', 'await_confirmation', 'pending'],
  ['sent', 'confirm', 'confirmed'],
  ['sent', 'refuse', 'refused'],
  ['sent', 'not_redeemed', 'none'],
  ...(['unknown', 'pending'] as const).flatMap((s): [RedeemState, RedeemStep, RedeemState][] => [
    [s, 'await_confirmation', 'pending'],
    [s, 'confirm', 'confirmed'],
    [s, 'refuse', 'refused'],
    [s, 'not_redeemed', 'none'],
  ]),
];

describe('redeem sub-state', () => {
  it('accepts exactly the listed steps and refuses every other pair', () => {
    for (const from of REDEEM_STATES)
      for (const step of REDEEM_STEPS) {
        const edge = EDGES.find(([f, s]) => f === from && s === step);
        const result = redeemStep(from, step);
        if (edge) expect(result).toEqual({ ok: true, from, step, to: edge[2] });
        else expect(result.ok, `${from} --${step}-->`).toBe(false);
      }
  });

  it('never sends a card twice unless a lookup or the process itself said the first never arrived', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...REDEEM_STEPS), { maxLength: 60 }), (steps) => {
        let state: RedeemState = 'none';
        let sentSinceCleared = false;
        for (const step of steps) {
          const r = redeemStep(state, step);
          if (!r.ok) continue; // a refused step changes nothing
          if (step === 'send') {
            expect(sentSinceCleared).toBe(false);
            sentSinceCleared = true;
          }
          if (step === 'not_redeemed' || step === 'not_sent') sentSinceCleared = false;
          // Once a redeem may have reached the issuer, only a lookup's answer moves it on.
          if (needsLookup(state)) expect(step).not.toBe('send');
          state = r.to;
          expect(REDEEM_STATES).toContain(state);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('confirmed and refused are final', () => {
    for (const s of ['confirmed', 'refused'] as const)
      for (const step of REDEEM_STEPS) expect(redeemStep(s, step).ok).toBe(false);
  });
});
