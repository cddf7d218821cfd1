import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import type { WebhookSpec } from '../../http/openapi.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
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

const titleOf = (type: string) =>
  `${type
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Event`;

/** What the document's `webhooks` section shows: each channel-visible type's envelope, with an example. */
export function eventWebhooks(catalogue: readonly EventTypeSpec[]): WebhookSpec[] {
  return catalogue
    .filter((t) => t.visibility === 'channel')
    .map((t) => ({
      name: t.type,
      summary: t.type,
      description: `${t.description} Payload version ${t.version}; see docs/events.md.`,
      schema: Type.Object(eventEnvelope(t.data, Type.Literal(t.type)).properties, { title: titleOf(t.type) }),
      example: {
        id: 'evt_01jq3v6y0k8w5m2d9c4f7h1r3t',
        type: t.type,
        version: t.version,
        sequence: 1042,
        channel_id: 'ch_01jq3v6y0k8w5m2d9c4f7h1r3t',
        subject_id: 'ord_01jq3v6y0k8w5m2d9c4f7h1r3t',
        created_at: '2026-12-01T08:00:01.250Z',
        data: t.example,
      },
    }));
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
          response: {
            200: answer(EventList, 'A page of events, oldest first.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) =>
        unwrap(await service.listForChannel(authenticatedChannel(request).id, request.query)),
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
          response: {
            200: answer(EventList, 'A page of events, oldest first.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => unwrap(await service.listAll(request.query)),
    );
  };
}
