import type { Failure } from '../../shared/result.js';

/** Why a review action was refused (docs/reviews.md, docs/errors.md). */
export type ReviewError = Failure<
  | 'resource_not_found'
  | 'review_claimed'
  | 'review_not_claimed'
  | 'review_decided'
  | 'review_not_approvable'
  | 'conflict'
>;
