import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readBefore } from '../../http/admin-auth.js';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import {
  ChannelList,
  ChannelParams,
  ChannelPatch,
  ChannelView,
  GroupInput,
  GroupList,
  GroupParams,
  GroupView,
  RotatedSecret,
  RotateSecretRequest,
} from './model.js';
import type { ChannelService } from './service.js';

const ROTATE_DESCRIPTION =
  'Replaces the API secret (`sk_`) or the webhook secret (`whsec_`) and answers the new one, once. ' +
  'The replaced secret keeps working for `overlap_s`: API calls signed with either verify, and ' +
  'callbacks carry a signature by each (docs/signing.md#rotation, docs/webhooks.md#secret-rotation).';

/** GET /v1/channel: who the caller is, as we know it. The simplest signed call, for integration checks. */
export function channelRoutes(service: ChannelService, defaultOverlapS: number): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/channel/secrets/rotate',
      {
        schema: {
          operationId: 'rotateChannelSecret',
          tags: ['channel'],
          summary: "Rotate the channel's API or webhook secret",
          description: ROTATE_DESCRIPTION,
          body: RotateSecretRequest,
          response: {
            200: answer(RotatedSecret, 'The new secret; the old one works until previous_valid_until.'),
            ...errorResponses(400, 401, 403, 409, 413, 415),
          },
        },
        // The replaced secret verifies ordinary calls during the overlap, but cannot rotate again.
        config: { credentials: 'current' },
      },
      async (request) =>
        unwrap(
          await service.rotateSecret(
            authenticatedChannel(request).id,
            request.body.kind,
            (request.body.overlap_s ?? defaultOverlapS) * 1000,
          ),
        ),
    );
    app.get(
      '/v1/channel',
      {
        schema: {
          operationId: 'getChannel',
          tags: ['channel'],
          summary: 'The calling channel',
          description:
            'Returns the channel the signature belongs to. Use it to check a signing implementation.',
          response: { 200: answer(ChannelView, 'The calling channel.'), ...errorResponses(401) },
        },
      },
      async (request) => authenticatedChannel(request),
    );
  };
}

/** /admin/v1/channels and /admin/v1/channel-groups: commercial settings of channels. */
export function channelAdminRoutes(
  service: ChannelService,
  defaultOverlapS: number,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: channels'];
    app.post(
      '/admin/v1/channels/:id/secrets/rotate',
      {
        config: { auditBefore: readBefore((p: { id: string }) => service.get(p.id)) },
        schema: {
          operationId: 'adminRotateChannelSecret',
          tags,
          summary: "Rotate a channel's API or webhook secret",
          description: ROTATE_DESCRIPTION,
          params: ChannelParams,
          body: RotateSecretRequest,
          response: {
            200: answer(RotatedSecret, 'The new secret; the old one works until previous_valid_until.'),
            ...errorResponses(400, 401, 404, 409, 413, 415),
          },
        },
      },
      async (request) =>
        unwrap(
          await service.rotateSecret(
            request.params.id,
            request.body.kind,
            (request.body.overlap_s ?? defaultOverlapS) * 1000,
          ),
        ),
    );
    app.get(
      '/admin/v1/channels',
      {
        schema: {
          operationId: 'adminListChannels',
          tags,
          summary: 'Every channel',
          response: { 200: answer(ChannelList, 'Every channel.'), ...errorResponses(401) },
        },
      },
      async () => ({ data: await service.list() }),
    );
    app.patch(
      '/admin/v1/channels/:id',
      {
        config: { auditBefore: readBefore((p: { id: string }) => service.get(p.id)) },
        schema: {
          operationId: 'adminPatchChannel',
          tags,
          summary: "Change a channel's group, settlement currency or face-value policy",
          description: 'Quotes already given keep their price; orders keep the price they were taken in at.',
          params: ChannelParams,
          body: ChannelPatch,
          response: {
            200: answer(ChannelView, 'The channel as changed.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.update(request.params.id, request.body)),
    );
    app.get(
      '/admin/v1/channel-groups',
      {
        schema: {
          operationId: 'adminListChannelGroups',
          tags,
          summary: 'Channel groups ("agents")',
          response: { 200: answer(GroupList, 'Every channel group.'), ...errorResponses(401) },
        },
      },
      async () => ({ data: await service.listGroups() }),
    );
    app.put(
      '/admin/v1/channel-groups/:id',
      {
        config: {
          auditBefore: readBefore(async (p: { id: string }) =>
            (await service.listGroups()).find((g) => g.id === p.id),
          ),
        },
        schema: {
          operationId: 'adminPutChannelGroup',
          tags,
          summary: 'Create or rename a channel group',
          params: GroupParams,
          body: GroupInput,
          response: { 200: answer(GroupView, 'The group as stored.'), ...errorResponses(400, 401, 413, 415) },
        },
      },
      async (request) => service.putGroup(request.params.id, request.body.name),
    );
  };
}
