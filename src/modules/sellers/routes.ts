import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import {
  DestinationInput,
  DestinationList,
  DestinationParams,
  DestinationView,
  SellerInput,
  SellerList,
  SellerListQuery,
  SellerParams,
  SellerView,
} from './model.js';
import type { SellerService } from './service.js';

const tags = ['sellers'];
const Deleted = Type.Object({ deleted: Type.Literal(true) }, { title: 'Deleted' });

/** A channel's sellers and their payout destinations (`/v1/sellers`). Another channel's are 404. */
export function sellerRoutes(sellers: SellerService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/sellers',
      {
        schema: {
          operationId: 'listSellers',
          tags,
          summary: "The channel's sellers",
          querystring: SellerListQuery,
          response: { 200: answer(SellerList, 'By id.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => {
        const q = request.query;
        return sellers.list(authenticatedChannel(request).id, {
          limit: q.limit,
          ...(q.cursor ? { cursor: q.cursor } : {}),
        });
      },
    );
    app.put(
      '/v1/sellers/:seller_id',
      {
        // Lasting state: not with the secret a rotation replaced (docs/signing.md#rotation).
        config: { credentials: 'current' },
        schema: {
          operationId: 'putSeller',
          tags,
          summary: "Record a seller's verified identity",
          description:
            'Sellers are also recorded by their first settled order; this sets the verified name (destinations must be in it) and whether the channel verified them.',
          params: SellerParams,
          body: SellerInput,
          response: { 200: answer(SellerView, 'The seller.'), ...errorResponses(400, 401, 413, 415) },
        },
      },
      async (request) =>
        unwrap(await sellers.put(authenticatedChannel(request).id, request.params.seller_id, request.body)),
    );
    app.get(
      '/v1/sellers/:seller_id',
      {
        schema: {
          operationId: 'getSeller',
          tags,
          summary: 'One seller',
          params: SellerParams,
          response: { 200: answer(SellerView, 'The seller.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) =>
        unwrap(await sellers.get(authenticatedChannel(request).id, request.params.seller_id)),
    );
    app.post(
      '/v1/sellers/:seller_id/destinations',
      {
        // Lasting state: not with the secret a rotation replaced (docs/signing.md#rotation).
        config: { credentials: 'current' },
        schema: {
          operationId: 'addPayoutDestination',
          tags,
          summary: 'Add a payout destination',
          description:
            'Checked for format (bank cards by Luhn, USDT by network) and same-name: the holder must be the seller’s verified name.',
          params: SellerParams,
          body: DestinationInput,
          response: {
            201: answer(DestinationView, 'The destination.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(
            unwrap(
              await sellers.addDestination(
                authenticatedChannel(request).id,
                request.params.seller_id,
                request.body,
              ),
            ),
          ),
    );
    app.get(
      '/v1/sellers/:seller_id/destinations',
      {
        schema: {
          operationId: 'listPayoutDestinations',
          tags,
          summary: "A seller's payout destinations",
          params: SellerParams,
          response: {
            200: answer(DestinationList, 'Active destinations, oldest first.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => ({
        data: unwrap(await sellers.destinations(authenticatedChannel(request).id, request.params.seller_id)),
      }),
    );
    app.delete(
      '/v1/sellers/:seller_id/destinations/:id',
      {
        // Lasting state: not with the secret a rotation replaced (docs/signing.md#rotation).
        config: { credentials: 'current' },
        schema: {
          operationId: 'removePayoutDestination',
          tags,
          summary: 'Remove a payout destination',
          params: DestinationParams,
          response: { 200: answer(Deleted, 'Removed: never paid again.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) =>
        unwrap(
          await sellers.removeDestination(
            authenticatedChannel(request).id,
            request.params.seller_id,
            request.params.id,
          ),
        ),
    );
  };
}
