import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readBefore } from '../../http/admin-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { CardTypeList, CardTypeParams, CardTypePatch, CardTypeView, NewCardType } from './model.js';
import type { CardTypeService } from './service.js';

/** GET /v1/card-types: what a channel may submit, with the rules to pre-check input. */
export function cardTypeRoutes(service: CardTypeService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/card-types',
      {
        schema: {
          operationId: 'listCardTypes',
          tags: ['cards'],
          summary: 'Card types accepted now',
          description: 'Enabled card types with their number and secret patterns and accepted face values.',
          response: {
            200: answer(CardTypeList, 'Card types a channel may submit now.'),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ data: await service.list({ enabledOnly: true }) }),
    );
  };
}

/** /admin/v1/card-types: operators add, change and disable card types. */
export function cardTypeAdminRoutes(service: CardTypeService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: cards'];
    app.get(
      '/admin/v1/card-types',
      {
        schema: {
          operationId: 'adminListCardTypes',
          tags,
          summary: 'All card types, disabled ones too',
          response: {
            200: answer(CardTypeList, 'Every card type, disabled ones too.'),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ data: await service.list({ enabledOnly: false }) }),
    );
    app.get(
      '/admin/v1/card-types/:code',
      {
        schema: {
          operationId: 'adminGetCardType',
          tags,
          summary: 'One card type',
          params: CardTypeParams,
          response: { 200: answer(CardTypeView, 'The card type.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await service.get(request.params.code)),
    );
    app.post(
      '/admin/v1/card-types',
      {
        schema: {
          operationId: 'adminCreateCardType',
          tags,
          summary: 'Add a card type',
          body: NewCardType,
          response: {
            201: answer(CardTypeView, 'The new card type.'),
            ...errorResponses(400, 401, 409, 413, 415),
          },
        },
      },
      async (request, reply) => reply.status(201).send(unwrap(await service.create(request.body))),
    );
    app.patch(
      '/admin/v1/card-types/:code',
      {
        config: { auditBefore: readBefore((p: { code: string }) => service.get(p.code)) },
        schema: {
          operationId: 'adminUpdateCardType',
          tags,
          summary: 'Change or disable a card type',
          description:
            'Send only the fields to change; `{"enabled": false}` disables. Existing orders are not changed.',
          params: CardTypeParams,
          body: CardTypePatch,
          response: {
            200: answer(CardTypeView, 'The card type as changed.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.update(request.params.code, request.body)),
    );
  };
}
