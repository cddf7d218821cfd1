import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { errorResponses } from '../../http/error-body.js';
import { AdminEventListQuery, EventListQuery, type EventTypeSpec, eventEnvelope } from './model.js';
import type { EventService } from './service.js';

/** The listing's schema: every declared type's envelope (payloads are validated by type, not here). */
export function eventListSchema(catalogue: readonly EventTypeSpec[]) {
  const variants = catalogue.map((t) => eventEnvelope(t.data, Type.Literal(t.type)));
  const Event: TSchema = variants.length === 1 ? (variants[0] as TSchema) : Type.Union(variants);
  return Type.Object({
    data: Type.Array(Event),
    has_more: Type.Boolean({ description: 'More events wait after next_after.' }),
    next_after: Type.Integer({
      minimum: 0,
      description:
        'The last sequence on this page (or the `after` asked for when it is empty): ask again with it.',
    }),
  });
}

export function eventRoutes(
  service: EventService,
  catalogue: readonly EventTypeSpec[],
): FastifyPluginAsyncTypebox {
  const EventList = eventListSchema(catalogue.filter((t) => t.visibility === 'channel'));
  return async (app) => {
    app.get(
      '/v1/events',
      {
        schema: {
          operationId: 'listEvents',
          tags: ['events'],
          summary: "The channel's events, oldest first",
          description:
            'Every change to your orders, in commit order. Resume with `after` set to the last `sequence` you ' +
            'handled; a page never skips an event that commits later.',
          querystring: EventListQuery,
          response: { 200: EventList, ...errorResponses(400, 401) },
        },
      },
      async (request) => service.listForChannel(authenticatedChannel(request).id, request.query),
    );
  };
}

export function eventAdminRoutes(
  service: EventService,
  catalogue: readonly EventTypeSpec[],
): FastifyPluginAsyncTypebox {
  const EventList = eventListSchema(catalogue);
  return async (app) => {
    app.get(
      '/admin/v1/events',
      {
        schema: {
          operationId: 'adminListEvents',
          tags: ['admin: events'],
          summary: 'Every event, oldest first',
          querystring: AdminEventListQuery,
          response: { 200: EventList, ...errorResponses(400, 401) },
        },
      },
      async (request) => service.listAll(request.query),
    );
  };
}
