import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { OrderList, OrderListQuery, OrderParams, OrderView, SubmitOrder } from './model.js';
import type { OrderService } from './service.js';

export function orderRoutes(service: OrderService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['orders'];
    app.post(
      '/v1/orders',
      {
        // Takes card numbers: refused (503) rather than unlimited when the rate limiter is down.
        config: { takesCards: true },
        schema: {
          operationId: 'submitOrder',
          tags,
          summary: 'Hand in a card',
          description:
            'Checks the card against its type, stores it encrypted and queues its verification. `201` with the new ' +
            'order; `200` with the first order when the same `merchant_order_id` is repeated with the same body.',
          body: SubmitOrder,
          response: {
            200: answer(OrderView, 'The first order of this merchant_order_id (the same body again).'),
            201: answer(OrderView, 'The new order; verification is queued.'),
            ...errorResponses(400, 401, 409, 413, 415, 422, 429),
          },
        },
      },
      async (request, reply) => {
        const { order, created } = unwrap(await service.submit(authenticatedChannel(request), request.body));
        return reply.status(created ? 201 : 200).send(order);
      },
    );
    app.get(
      '/v1/orders/:id',
      {
        schema: {
          operationId: 'getOrder',
          tags,
          summary: 'One order',
          params: OrderParams,
          response: { 200: answer(OrderView, 'The order.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await service.get(authenticatedChannel(request), request.params.id)),
    );
    app.get(
      '/v1/orders',
      {
        schema: {
          operationId: 'listOrders',
          tags,
          summary: "The channel's orders, newest first",
          description:
            'Filter by merchant_order_id, status, card_type and a created range; page with next_cursor.',
          querystring: OrderListQuery,
          response: {
            200: answer(OrderList, 'A page of orders, newest first.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => service.list(authenticatedChannel(request), request.query),
    );
  };
}
