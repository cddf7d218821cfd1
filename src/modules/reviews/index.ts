/** Reviews' face: the manual review queue (docs/reviews.md). */
export {
  REVIEW_DECISIONS,
  REVIEW_STAGES,
  REVIEW_STATUSES,
  type ReviewDecision,
  ReviewEvidence,
  type ReviewStage,
  type ReviewStatus,
  ReviewView,
  type WaitingReviews,
} from './model.js';
export { reviewAdminRoutes } from './routes.js';
export { createReviewService, type ReviewDeps, type ReviewService } from './service.js';
export { reviewSubscriber } from './subscriber.js';
