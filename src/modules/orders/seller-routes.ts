import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { authenticatedSeller } from '../../http/seller-auth.js';
import { newId } from '../../shared/ids.js';
import { ORDER_STATUSES } from './lifecycle.js';
import { OrderList, OrderParams, OrderView, SubmitOrder } from './model.js';
import type { OrderService } from './service.js';

/** What a seller hands in on the seller page: the card; who is selling comes from the session. */
const SellerSubmit = Type.Object(
  {
    card_type: SubmitOrder.properties.card_type,
    card_number: SubmitOrder.properties.card_number,
    card_secret: SubmitOrder.properties.card_secret,
    declared_face_value: SubmitOrder.properties.declared_face_value,
    quote_id: SubmitOrder.properties.quote_id,
    device_id: SubmitOrder.properties.device_id,
  },
  { additionalProperties: false, title: 'SellerSubmitOrder' },
);
type SellerSubmit = Static<typeof SellerSubmit>;

const SellerOrderQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^ord_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A signed-in seller's cards (`/h5/v1/orders`): the same intake as the channel API, as the h5
 * channel with the session's seller. Another seller's order is "not found".
 */
export function sellerOrderRoutes(service: OrderService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['h5 seller page'];
    app.post(
      '/h5/v1/orders',
      {
        // Cards come in here too: without the rate limiter it fails closed, as /v1/orders does.
        config: { takesCards: true },
        schema: {
          operationId: 'h5SubmitOrder',
          tags,
          summary: 'Hand in a card',
          description:
            'Checked, priced and queued for verification exactly as `POST /v1/orders`. Retries: send an Idempotency-Key.',
          body: SellerSubmit,
          response: {
            201: answer(OrderView, 'The new order; verification is queued.'),
            ...errorResponses(400, 403, 409, 413, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const seller = authenticatedSeller(request);
        const body: SellerSubmit = request.body;
        const { order } = unwrap(
          await service.submit(seller.channel, {
            card_type: body.card_type,
            card_number: body.card_number,
            card_secret: body.card_secret,
            declared_face_value: body.declared_face_value,
            ...(body.quote_id ? { quote_id: body.quote_id } : {}),
            ...(body.device_id ? { device_id: body.device_id } : {}),
            // The page has no order ids of its own; retries are made safe by Idempotency-Key.
            merchant_order_id: newId('h5o'),
            seller: { id: seller.sellerId },
            user_id: seller.sellerId,
            client_ip: request.ip,
          }),
        );
        return reply.status(201).send(order);
      },
    );
    app.get(
      '/h5/v1/orders',
      {
        schema: {
          operationId: 'h5ListOrders',
          tags,
          summary: "The seller's orders, newest first",
          querystring: SellerOrderQuery,
          response: { 200: answer(OrderList, 'A page of orders, newest first.') },
        },
      },
      async (request) => {
        const seller = authenticatedSeller(request);
        return service.list(seller.channel, request.query, seller.sellerId);
      },
    );
    app.get(
      '/h5/v1/orders/:id',
      {
        schema: {
          operationId: 'h5GetOrder',
          tags,
          summary: 'One of the seller’s orders',
          params: OrderParams,
          response: { 200: answer(OrderView, 'The order.'), ...errorResponses(404) },
        },
      },
      async (request) => {
        const seller = authenticatedSeller(request);
        return unwrap(await service.get(seller.channel, request.params.id, seller.sellerId));
      },
    );
  };
}
