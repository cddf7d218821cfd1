import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { adminPrincipal, readBefore } from '../../http/admin-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import {
  ReviewDecisionBody,
  ReviewEvidence,
  ReviewList,
  ReviewListQuery,
  ReviewParams,
  ReviewView,
} from './model.js';
import type { ReviewService } from './service.js';

/** Who acts on a case: the admin user's id (break-glass acts as `break-glass`). */
function reviewerOf(request: FastifyRequest): string {
  const admin = adminPrincipal(request);
  return admin.id ?? admin.kind;
}

/** /admin/v1/reviews: the manual review queue (docs/reviews.md). */
export function reviewAdminRoutes(service: ReviewService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: reviews'];
    const before = { auditBefore: readBefore((p: { id: string }) => service.get(p.id)) };
    app.get(
      '/admin/v1/reviews',
      {
        schema: {
          operationId: 'adminListReviews',
          tags,
          summary: 'The review queue',
          description:
            'Cases oldest first; by default those still waiting (open, claimed, info_requested). Filter by reason, status, age and declared amount.',
          querystring: ReviewListQuery,
          response: { 200: answer(ReviewList, 'A page of cases.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => service.list(request.query),
    );
    app.get(
      '/admin/v1/reviews/:id',
      {
        schema: {
          operationId: 'adminGetReview',
          tags,
          summary: 'A case and its evidence',
          description:
            "The case, its order (masked card number only), the risk rules that fired, the seller's history, the issuer's raw code and the order's steps, and declared against actual face value.",
          params: ReviewParams,
          response: {
            200: answer(ReviewEvidence, 'The case with its evidence.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await service.evidence(request.params.id)),
    );
    app.post(
      '/admin/v1/reviews/:id/claim',
      {
        config: before,
        schema: {
          operationId: 'adminClaimReview',
          tags,
          summary: 'Claim a case',
          description:
            'One reviewer at a time, for RECARD_REVIEW_CLAIM_MS. Claiming again extends your claim; a case another reviewer holds is 409 `review_claimed`.',
          params: ReviewParams,
          response: {
            200: answer(ReviewView, 'The case, claimed by you.'),
            ...errorResponses(400, 401, 404, 409),
          },
        },
      },
      async (request) => unwrap(await service.claim(request.params.id, reviewerOf(request))),
    );
    app.delete(
      '/admin/v1/reviews/:id/claim',
      {
        config: before,
        schema: {
          operationId: 'adminReleaseReview',
          tags,
          summary: 'Release your claim',
          description: 'The case is open again. Releasing a case nobody holds changes nothing.',
          params: ReviewParams,
          response: { 200: answer(ReviewView, 'The case, released.'), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (request) => unwrap(await service.release(request.params.id, reviewerOf(request))),
    );
    app.post(
      '/admin/v1/reviews/:id/decision',
      {
        config: before,
        schema: {
          operationId: 'adminDecideReview',
          tags,
          summary: 'Decide a case',
          description:
            'By the reviewer holding an unexpired claim (else 409 `review_not_claimed`). `approve`: the order goes on where it stopped (verification resumes and redeems; a redemption of unknown outcome is confirmed); `reject`: the order is rejected and any escrow hold voided; `request_info`: the case waits for more information, the order stays in review. The decision and the order change commit together.',
          params: ReviewParams,
          body: ReviewDecisionBody,
          response: {
            200: answer(ReviewView, 'The case after the decision.'),
            ...errorResponses(400, 401, 404, 409, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.decide(request.params.id, reviewerOf(request), request.body)),
    );
  };
}
