import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyContextConfig, FastifyRequest } from 'fastify';
import { readBefore } from '../../http/admin-auth.js';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { DeliveryService } from './deliveries.js';
import type { EndpointService } from './endpoints.js';
import {
  AdminEndpointInput,
  AdminEndpointQuery,
  DeliveryList,
  DeliveryListQuery,
  DeliveryParams,
  DeliveryView,
  EndpointInput,
  EndpointList,
  EndpointParams,
  EndpointPatch,
  EndpointView,
  ReplayAnswer,
  ReplayRequest,
  ResendEventParams,
  ResendEventRequest,
} from './model.js';

const Deleted = Type.Object({ deleted: Type.Literal(true) }, { title: 'Deleted' });
const DeliveryBatch = Type.Object({ data: Type.Array(DeliveryView) });

export interface WebhookRouteDeps {
  endpoints: EndpointService;
  deliveries: DeliveryService;
}

/**
 * Endpoints and the delivery log, for a channel (`/v1`, scoped to the signing channel) or for
 * admins (`/admin/v1`, every channel). One set of handlers; `scope` says whose things are reachable.
 */
function webhookRoutes(
  { endpoints, deliveries }: WebhookRouteDeps,
  prefix: '/v1' | '/admin/v1',
  scope: (request: FastifyRequest) => string | undefined,
): FastifyPluginAsyncTypebox {
  const admin = prefix === '/admin/v1';
  const tags = [admin ? 'admin: callbacks' : 'callbacks'];
  const op = (name: string) => (admin ? `admin${name[0]?.toUpperCase()}${name.slice(1)}` : name);
  // Admin changes record the endpoint as it was (the channel API keeps no audit log).
  // An endpoint outlives whoever made it: a channel changes endpoints only with its current
  // credentials (docs/signing.md#rotation); the admin side records the before.
  const changeEndpoint: { config: Pick<FastifyContextConfig, 'auditBefore' | 'credentials'> } = admin
    ? { config: { auditBefore: readBefore((p: { id: string }) => endpoints.get(undefined, p.id)) } }
    : { config: { credentials: 'current' } };
  return async (app) => {
    if (admin) {
      app.post(
        `${prefix}/webhook-endpoints`,
        {
          // Lasting state: not with the secret a rotation replaced (docs/signing.md#rotation).
          config: { credentials: 'current' },
          schema: {
            operationId: op('createWebhookEndpoint'),
            tags,
            summary: 'Register an endpoint for a channel',
            body: AdminEndpointInput,
            response: { 201: answer(EndpointView, 'The endpoint.'), ...errorResponses(400, 401, 413, 415) },
          },
        },
        async (request, reply) => {
          const { channel_id, ...input } = request.body;
          return reply.status(201).send(unwrap(await endpoints.create(channel_id, input)));
        },
      );
    } else {
      app.post(
        `${prefix}/webhook-endpoints`,
        {
          // Lasting state: not with the secret a rotation replaced (docs/signing.md#rotation).
          config: { credentials: 'current' },
          schema: {
            operationId: op('createWebhookEndpoint'),
            tags,
            summary: 'Register an endpoint for callbacks',
            description:
              'Its URL must be http(s) and reach a public address (docs/webhooks.md#outbound-safety); it gets ' +
              'every event of the listed types, signed per Standard Webhooks (or in the classic format the channel chose).',
            body: EndpointInput,
            response: { 201: answer(EndpointView, 'The endpoint.'), ...errorResponses(400, 401, 413, 415) },
          },
        },
        async (request, reply) =>
          reply
            .status(201)
            .send(unwrap(await endpoints.create(authenticatedChannel(request).id, request.body))),
      );
    }
    app.get(
      `${prefix}/webhook-endpoints`,
      {
        schema: {
          operationId: op('listWebhookEndpoints'),
          tags,
          summary: admin ? 'Every endpoint, or one channel’s' : "The channel's endpoints",
          ...(admin ? { querystring: AdminEndpointQuery } : {}),
          response: { 200: answer(EndpointList, 'Endpoints, oldest first.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => {
        const q = request.query as { channel_id?: string };
        return { data: await endpoints.list(scope(request) ?? q.channel_id) };
      },
    );
    app.get(
      `${prefix}/webhook-endpoints/:id`,
      {
        schema: {
          operationId: op('getWebhookEndpoint'),
          tags,
          summary: 'One endpoint',
          params: EndpointParams,
          response: { 200: answer(EndpointView, 'The endpoint.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await endpoints.get(scope(request), request.params.id)),
    );
    app.patch(
      `${prefix}/webhook-endpoints/:id`,
      {
        ...changeEndpoint,
        schema: {
          operationId: op('updateWebhookEndpoint'),
          tags,
          summary: 'Change, disable or re-enable an endpoint',
          params: EndpointParams,
          body: EndpointPatch,
          response: {
            200: answer(EndpointView, 'The endpoint as changed.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await endpoints.update(scope(request), request.params.id, request.body)),
    );
    app.delete(
      `${prefix}/webhook-endpoints/:id`,
      {
        ...changeEndpoint,
        schema: {
          operationId: op('deleteWebhookEndpoint'),
          tags,
          summary: 'Remove an endpoint; its pending deliveries fail',
          params: EndpointParams,
          response: { 200: answer(Deleted, 'Removed.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await endpoints.remove(scope(request), request.params.id)),
    );
    app.post(
      `${prefix}/webhook-endpoints/:id/replay`,
      {
        schema: {
          operationId: op('replayWebhookEndpoint'),
          tags,
          summary: 'Send every event of a time range to the endpoint again',
          description:
            'Queues one new delivery per event written in [since, until) that the endpoint takes, in the order they were written (at most 10,000).',
          params: EndpointParams,
          body: ReplayRequest,
          response: { 202: answer(ReplayAnswer, 'Queued.'), ...errorResponses(400, 401, 404, 413, 415) },
        },
      },
      async (request, reply) =>
        reply
          .status(202)
          .send(unwrap(await deliveries.replay(scope(request), request.params.id, request.body))),
    );
    app.get(
      `${prefix}/webhook-deliveries`,
      {
        schema: {
          operationId: op('listWebhookDeliveries'),
          tags,
          summary: 'Deliveries with their attempts, newest first',
          querystring: DeliveryListQuery,
          response: { 200: answer(DeliveryList, 'A page of deliveries.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => deliveries.list(scope(request), request.query),
    );
    app.get(
      `${prefix}/webhook-deliveries/:id`,
      {
        schema: {
          operationId: op('getWebhookDelivery'),
          tags,
          summary: 'One delivery with every attempt',
          params: DeliveryParams,
          response: { 200: answer(DeliveryView, 'The delivery.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await deliveries.get(scope(request), request.params.id)),
    );
    app.post(
      `${prefix}/webhook-deliveries/:id/resend`,
      {
        schema: {
          operationId: op('resendWebhookDelivery'),
          tags,
          summary: 'Send a delivery again, as a new delivery with its own attempts',
          params: DeliveryParams,
          response: { 202: answer(DeliveryView, 'The new delivery.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) =>
        reply.status(202).send(unwrap(await deliveries.resend(scope(request), request.params.id))),
    );
    app.post(
      `${prefix}/events/:id/resend`,
      {
        schema: {
          operationId: op('resendEvent'),
          tags,
          summary: 'Send one event again: to one endpoint, or wherever it goes now',
          params: ResendEventParams,
          body: ResendEventRequest,
          response: {
            202: answer(DeliveryBatch, 'The new deliveries.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request, reply) =>
        reply.status(202).send({
          data: unwrap(
            await deliveries.resendEvent(scope(request), request.params.id, request.body.endpoint_id),
          ),
        }),
    );
  };
}

export const channelWebhookRoutes = (deps: WebhookRouteDeps) =>
  webhookRoutes(deps, '/v1', (request) => authenticatedChannel(request).id);

export const adminWebhookRoutes = (deps: WebhookRouteDeps) =>
  webhookRoutes(deps, '/admin/v1', () => undefined);
