import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { errorResponses } from '../../http/error-body.js';
import { ChannelView } from './model.js';

/** GET /v1/channel: who the caller is, as we know it. The simplest signed call, for integration checks. */
export const channelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/channel',
    {
      schema: {
        operationId: 'getChannel',
        tags: ['channel'],
        summary: 'The calling channel',
        description:
          'Returns the channel the signature belongs to. Use it to check a signing implementation.',
        response: { 200: ChannelView, ...errorResponses(401) },
      },
    },
    async (request) => authenticatedChannel(request),
  );
};
