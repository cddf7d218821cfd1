import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FACE_VALUE_POLICIES } from '../channels/model.js';
import { afterInquiry, interpret } from './decide.js';

describe('interpret', () => {
  it('reads the mapping row', () => {
    expect(interpret({ reason: 'ok' })).toEqual({ kind: 'ok' });
    expect(interpret({ reason: 'card_used' })).toEqual({ kind: 'refused', reason: 'card_used' });
    expect(interpret({ reason: 'issuer_unavailable' })).toEqual({ kind: 'transient' });
    expect(interpret({ reason: null })).toEqual({ kind: 'review', reason: 'ambiguous_code' });
    expect(interpret(undefined)).toEqual({ kind: 'review', reason: 'unknown_code' });
  });
});

describe('afterInquiry', () => {
  const ok = { kind: 'ok' } as const;
  it('redeems a card worth what was declared, whatever the policy', () => {
    for (const policy of FACE_VALUE_POLICIES)
      expect(afterInquiry({ verdict: ok, declaredFaceValue: 5000, actualFaceValue: 5000, policy })).toEqual({
        action: 'redeem',
        expectedFaceValue: 5000,
        mismatch: false,
      });
  });
  it('follows the channel policy on a face value mismatch', () => {
    const base = { verdict: ok, declaredFaceValue: 10000, actualFaceValue: 5000 };
    expect(afterInquiry({ ...base, policy: 'settle_actual' })).toEqual({
      action: 'redeem',
      expectedFaceValue: 5000,
      mismatch: true,
    });
    expect(afterInquiry({ ...base, policy: 'review' })).toEqual({
      action: 'review',
      reason: 'face_value_mismatch',
    });
    expect(afterInquiry({ ...base, policy: 'fail' })).toEqual({
      action: 'refuse',
      reason: 'face_value_mismatch',
    });
  });
  it('never redeems on anything but an ok verdict', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          { kind: 'refused', reason: 'card_used' } as const,
          { kind: 'review', reason: 'ambiguous_code' } as const,
          { kind: 'review', reason: 'unknown_code' } as const,
          { kind: 'transient' } as const,
        ),
        fc.integer({ min: 1, max: 1e8 }),
        fc.option(fc.integer({ min: 0, max: 1e8 }), { nil: undefined }),
        fc.constantFrom(...FACE_VALUE_POLICIES),
        (verdict, declaredFaceValue, actualFaceValue, policy) => {
          expect(afterInquiry({ verdict, declaredFaceValue, actualFaceValue, policy }).action).not.toBe(
            'redeem',
          );
        },
      ),
    );
  });
  it("after a reviewer's approval, an ambiguous or unknown code and a mismatch under `review` redeem; refusals stay", () => {
    const base = { declaredFaceValue: 10000, approved: true } as const;
    for (const reason of ['ambiguous_code', 'unknown_code'] as const)
      expect(
        afterInquiry({
          ...base,
          verdict: { kind: 'review', reason },
          actualFaceValue: undefined,
          policy: 'review',
        }),
      ).toEqual({ action: 'redeem', expectedFaceValue: 10000, mismatch: false });
    expect(
      afterInquiry({ ...base, verdict: { kind: 'ok' }, actualFaceValue: 5000, policy: 'review' }),
    ).toEqual({
      action: 'redeem',
      expectedFaceValue: 5000,
      mismatch: true,
    });
    expect(afterInquiry({ ...base, verdict: { kind: 'ok' }, actualFaceValue: 5000, policy: 'fail' })).toEqual(
      {
        action: 'refuse',
        reason: 'face_value_mismatch',
      },
    );
    expect(
      afterInquiry({
        ...base,
        verdict: { kind: 'refused', reason: 'card_used' },
        actualFaceValue: 10000,
        policy: 'review',
      }),
    ).toEqual({ action: 'refuse', reason: 'card_used' });
    expect(
      afterInquiry({ ...base, verdict: { kind: 'transient' }, actualFaceValue: 10000, policy: 'review' }),
    ).toEqual({
      action: 'retry',
    });
  });
});
