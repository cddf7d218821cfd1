import type { FaceValuePolicy } from '../channels/index.js';
import type { CodeReason, VerifyReason } from './model.js';

/**
 * The gateway's decisions, pure: what a raw code means, and what to do after an inquiry or a
 * redeem. The worker does the I/O around them.
 */

/** A mapping-table row for the raw code, or undefined when the code is not in the table. */
export type CodeRow = { reason: string | null } | undefined;

export type Verdict =
  | { kind: 'ok' }
  | { kind: 'refused'; reason: VerifyReason }
  | { kind: 'review'; reason: 'ambiguous_code' | 'unknown_code' }
  | { kind: 'transient' };

export function interpret(row: CodeRow): Verdict {
  if (!row) return { kind: 'review', reason: 'unknown_code' };
  if (row.reason === null) return { kind: 'review', reason: 'ambiguous_code' };
  const reason = row.reason as CodeReason;
  if (reason === 'ok') return { kind: 'ok' };
  if (reason === 'issuer_unavailable') return { kind: 'transient' };
  return { kind: 'refused', reason };
}

export type AfterInquiry =
  | { action: 'redeem'; expectedFaceValue: number; mismatch: boolean }
  | { action: 'refuse'; reason: VerifyReason }
  | { action: 'review'; reason: VerifyReason }
  | { action: 'retry' };

export function afterInquiry(input: {
  verdict: Verdict;
  declaredFaceValue: number;
  /** What the issuer says the card is worth (face value, or balance when that is all it says). */
  actualFaceValue: number | undefined;
  policy: FaceValuePolicy;
  /**
   * A reviewer approved the order (docs/reviews.md): what would send it to review again — an
   * ambiguous or unknown code, another face value under the `review` policy — is redeemed instead,
   * at the issuer's value. Refusals and retries stay what they are.
   */
  approved?: boolean;
}): AfterInquiry {
  const { verdict } = input;
  if (verdict.kind === 'transient') return { action: 'retry' };
  if (verdict.kind === 'refused') return { action: 'refuse', reason: verdict.reason };
  if (verdict.kind === 'review' && !input.approved) return { action: 'review', reason: verdict.reason };
  const actual = input.actualFaceValue ?? input.declaredFaceValue;
  if (actual === input.declaredFaceValue)
    return { action: 'redeem', expectedFaceValue: actual, mismatch: false };
  if (input.approved && input.policy === 'review')
    return { action: 'redeem', expectedFaceValue: actual, mismatch: true };
  switch (input.policy) {
    case 'settle_actual':
      return { action: 'redeem', expectedFaceValue: actual, mismatch: true };
    case 'fail':
      return { action: 'refuse', reason: 'face_value_mismatch' };
    case 'review':
      return { action: 'review', reason: 'face_value_mismatch' };
  }
}
