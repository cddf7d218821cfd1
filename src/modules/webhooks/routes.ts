import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { CallbackTestParams, CallbackTestRequest, CallbackTestView } from './model.js';
import type { CallbackTestService } from './service.js';

export function callbackTestRoutes(service: CallbackTestService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/callback-tests',
      {
        schema: {
          operationId: 'createCallbackTest',
          tags: ['callbacks'],
          summary: 'Send a test callback',
          description:
            "Queues a signed `callback.test` event to the given URL (or the channel's callback URL). " +
            'Delivery is retried with backoff until a 2xx answer; poll the returned id for the outcome.',
          body: CallbackTestRequest,
          response: {
            202: answer(CallbackTestView, 'Queued; poll it for the outcome.'),
            ...errorResponses(400, 401, 413, 415),
          },
        },
      },
      async (request, reply) =>
        reply.status(202).send(unwrap(await service.request(authenticatedChannel(request), request.body))),
    );

    app.get(
      '/v1/callback-tests/:id',
      {
        schema: {
          operationId: 'getCallbackTest',
          tags: ['callbacks'],
          summary: 'A test callback and its delivery state',
          params: CallbackTestParams,
          response: {
            200: answer(CallbackTestView, 'The test callback and its delivery state.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await service.get(authenticatedChannel(request), request.params.id)),
    );
  };
}
