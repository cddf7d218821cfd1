import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { adminPrincipal, readBefore } from '../../http/admin-auth.js';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import { authenticatedSeller } from '../../http/seller-auth.js';
import {
  AdminPayoutListQuery,
  BalanceQuery,
  BalanceView,
  BatchList,
  BatchListQuery,
  BatchParams,
  BatchView,
  PayoutList,
  PayoutListQuery,
  PayoutParams,
  PayoutView,
  ResolvePayout,
} from './model.js';
import type { SettlementService } from './service.js';

/** Balance and payouts for a channel (`/v1`): its own only. */
export function settlementRoutes(s: SettlementService): FastifyPluginAsyncTypebox {
  const tags = ['payouts'];
  return async (app) => {
    app.get(
      '/v1/balance',
      {
        schema: {
          operationId: 'getBalance',
          tags,
          summary: "What the channel's sellers are owed, and its commission",
          querystring: BalanceQuery,
          response: {
            200: answer(BalanceView, 'Balances per currency, from the ledger.'),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => s.balance(authenticatedChannel(request).id, request.query.seller_id),
    );
    app.get(
      '/v1/payouts',
      {
        schema: {
          operationId: 'listPayouts',
          tags,
          summary: "The channel's payouts, newest first",
          querystring: PayoutListQuery,
          response: { 200: answer(PayoutList, 'A page of payouts.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => s.payouts({ ...request.query, channel_id: authenticatedChannel(request).id }),
    );
    app.get(
      '/v1/payouts/:id',
      {
        schema: {
          operationId: 'getPayout',
          tags,
          summary: 'One payout, with its orders',
          params: PayoutParams,
          response: { 200: answer(PayoutView, 'The payout.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await s.payout(request.params.id, authenticatedChannel(request).id)),
    );
  };
}

const SellerPayoutQuery = Type.Omit(PayoutListQuery, ['seller_id'], { additionalProperties: false });

/** The signed-in seller's balance and payouts on the h5 seller page (`/h5/v1`): its own only. */
export function sellerSettlementRoutes(s: SettlementService): FastifyPluginAsyncTypebox {
  const tags = ['h5 seller page'];
  return async (app) => {
    app.get(
      '/h5/v1/balance',
      {
        schema: {
          operationId: 'h5GetBalance',
          tags,
          summary: 'What the seller is owed',
          response: { 200: answer(BalanceView, "The seller's balances per currency, from the ledger.") },
        },
      },
      async (request) => {
        const seller = authenticatedSeller(request);
        const b = await s.balance(seller.channel.id, seller.sellerId);
        // The channel's commission is not the seller's business.
        return { ...b, commission: [] };
      },
    );
    app.get(
      '/h5/v1/payouts',
      {
        schema: {
          operationId: 'h5ListPayouts',
          tags,
          summary: "The seller's payouts, newest first",
          querystring: SellerPayoutQuery,
          response: { 200: answer(PayoutList, 'A page of payouts.') },
        },
      },
      async (request) => {
        const seller = authenticatedSeller(request);
        return s.payouts({ ...request.query, channel_id: seller.channel.id, seller_id: seller.sellerId });
      },
    );
  };
}

/** Payouts and settlement batches for admins (`/admin/v1`). */
export function settlementAdminRoutes(s: SettlementService): FastifyPluginAsyncTypebox {
  const tags = ['admin: settlement'];
  return async (app) => {
    app.get(
      '/admin/v1/payouts',
      {
        schema: {
          operationId: 'adminListPayouts',
          tags,
          summary: 'Payouts of every channel, newest first',
          querystring: AdminPayoutListQuery,
          response: { 200: answer(PayoutList, 'A page of payouts.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => s.payouts(request.query),
    );
    app.get(
      '/admin/v1/payouts/:id',
      {
        schema: {
          operationId: 'adminGetPayout',
          tags,
          summary: 'One payout',
          params: PayoutParams,
          response: { 200: answer(PayoutView, 'The payout.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await s.payout(request.params.id)),
    );
    app.post(
      '/admin/v1/payouts/:id/resolve',
      {
        config: { auditBefore: readBefore((p: { id: string }) => s.payout(p.id)) },
        schema: {
          operationId: 'adminResolvePayout',
          tags,
          summary: 'Settle a payout whose outcome is unknown',
          description:
            'After checking the provider’s own records: `paid` books it paid; `failed` releases it, and its orders go into the next payout (a new id). A payout already decided is 409.',
          params: PayoutParams,
          body: ResolvePayout,
          response: {
            200: answer(PayoutView, 'The payout as resolved.'),
            ...errorResponses(400, 401, 404, 409, 413, 415),
          },
        },
      },
      async (request) => unwrap(await s.resolve(request.params.id, request.body)),
    );
    app.get(
      '/admin/v1/settlement-batches',
      {
        schema: {
          operationId: 'adminListSettlementBatches',
          tags,
          summary: 'Settlement batches, newest first',
          querystring: BatchListQuery,
          response: { 200: answer(BatchList, 'A page of batches.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => s.batches(request.query),
    );
    app.get(
      '/admin/v1/settlement-batches/:id',
      {
        schema: {
          operationId: 'adminGetSettlementBatch',
          tags,
          summary: 'One settlement batch',
          params: BatchParams,
          response: { 200: answer(BatchView, 'The batch.'), ...errorResponses(400, 401, 404) },
        },
      },
      async (request) => unwrap(await s.batch(request.params.id)),
    );
    app.post(
      '/admin/v1/settlement-batches/:id/approve',
      {
        config: { auditBefore: readBefore((p: { id: string }) => s.batch(p.id)) },
        schema: {
          operationId: 'adminApproveSettlementBatch',
          tags,
          summary: 'Approve a T+3 batch',
          description:
            'Finance approval (role finance or admin; the approver is recorded). Its payouts go out once it is due. A second approval is 409.',
          params: BatchParams,
          response: { 200: answer(BatchView, 'The approved batch.'), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (request) => unwrap(await s.approve(request.params.id, adminPrincipal(request).username)),
    );
    app.get(
      '/admin/v1/settlement-batches/:id/orders.csv',
      {
        schema: {
          operationId: 'adminExportSettlementBatch',
          tags,
          summary: "A batch's orders as CSV",
          params: BatchParams,
          produces: ['text/csv'],
          response: {
            200: answer(
              { type: 'string' } as never,
              'order_id, seller_id, amount, currency, settled_at, payout_id, payout_status, paid_at.',
            ),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request, reply) => {
        const csv = unwrap(await s.batchCsv(request.params.id));
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}.csv"`)
          .send(csv);
      },
    );
  };
}
