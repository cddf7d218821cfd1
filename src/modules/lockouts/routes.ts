import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { LockoutList, LockoutListQuery, LockoutParams, LockoutView } from './model.js';
import type { LockoutService } from './service.js';

/** /admin/v1/lockouts: cards, sellers, devices and IPs refused at intake, and their release. */
export function lockoutAdminRoutes(service: LockoutService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: lockouts'];
    app.get(
      '/admin/v1/lockouts',
      {
        schema: {
          operationId: 'adminListLockouts',
          tags,
          summary: 'Lockouts in force',
          description: 'Newest first. A card shows as its type and masked number only.',
          querystring: LockoutListQuery,
          response: {
            200: answer(LockoutList, 'The lockouts in force now.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => service.list(request.query),
    );
    app.post(
      '/admin/v1/lockouts/:id/release',
      {
        schema: {
          operationId: 'adminReleaseLockout',
          tags,
          summary: 'Release a lockout',
          description:
            "Ends it now and resets its subject's counters, so the next try is the first. Releasing again changes nothing.",
          params: LockoutParams,
          response: {
            200: answer(LockoutView, 'The lockout, released.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await service.release(request.params.id)),
    );
  };
}
