import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readBefore } from '../../http/admin-auth.js';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { PricingAdmin } from './admin.js';
import {
  AdjustmentList,
  AdjustmentPolicyInput,
  AdjustmentView,
  CardTypeParams,
  ExplainQuery,
  FxPairParams,
  FxRateInput,
  FxRateList,
  FxRateView,
  PriceExplanation,
  PriceParams,
  QuoteQuery,
  QuoteView,
  RateListQuery,
  RateSheetInput,
  RateSheetList,
  RateSheetView,
} from './model.js';
import type { PricingService } from './service.js';

/** GET /v1/quotes: what a card is worth to the calling channel, held for a while. */
export function quoteRoutes(pricing: PricingService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/quotes',
      {
        schema: {
          operationId: 'getQuote',
          tags: ['pricing'],
          summary: 'Quote a card',
          description:
            'The payout for a card of this type and face value, held until `expires_at`: an order submitted ' +
            'with the `quote_id` before then is settled at exactly this price (docs/pricing.md).',
          querystring: QuoteQuery,
          response: {
            200: answer(QuoteView, 'The price, held until expires_at.'),
            ...errorResponses(400, 401, 422, 503),
          },
        },
      },
      async (request) => unwrap(await pricing.quote(authenticatedChannel(request), request.query)),
    );
  };
}

/** Rate tables, automatic adjustment, exchange rates and price explanations. */
export function pricingAdminRoutes(admin: PricingAdmin): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: pricing'];
    app.get(
      '/admin/v1/rates',
      {
        schema: {
          operationId: 'adminListRates',
          tags,
          summary: 'Rate sheets in force (or every version with history=true)',
          querystring: RateListQuery,
          response: { 200: answer(RateSheetList, 'The rate sheets asked for.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => ({ data: await admin.listSheets(request.query) }),
    );
    app.post(
      '/admin/v1/rates',
      {
        schema: {
          operationId: 'adminAddRateSheet',
          tags,
          summary: 'Write a new version of a rate sheet',
          description:
            'Replaces the sheet of this tier, card type and kind from effective_from on; earlier versions stay ' +
            'and keep explaining the prices they made. An empty `ranges` withdraws the tier.',
          body: RateSheetInput,
          response: {
            201: answer(RateSheetView, 'The new sheet version; it applies from effective_from.'),
            ...errorResponses(400, 401, 413, 415),
          },
        },
      },
      async (request, reply) => reply.code(201).send(unwrap(await admin.addSheet(request.body))),
    );
    app.get(
      '/admin/v1/rates/explain',
      {
        schema: {
          operationId: 'adminExplainRate',
          tags,
          summary: 'What a channel would be paid for a card, and which rows say so',
          querystring: ExplainQuery,
          response: {
            200: answer(PriceExplanation, 'What the channel would be paid, and which rows say so.'),
            ...errorResponses(400, 401, 404, 422, 503),
          },
        },
      },
      async (request) => unwrap(await admin.explain(request.query)),
    );
    app.get(
      '/admin/v1/prices/:id',
      {
        schema: {
          operationId: 'adminExplainPrice',
          tags,
          summary: "A quote's or an order's price, with the rows that made it",
          params: PriceParams,
          response: {
            200: answer(PriceExplanation, 'Which rows made this price.'),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await admin.explainPrice(request.params.id)),
    );
    app.get(
      '/admin/v1/rate-adjustments',
      {
        schema: {
          operationId: 'adminListRateAdjustments',
          tags,
          summary: 'Automatic adjustment policies, what is in force and every change',
          response: {
            200: answer(AdjustmentList, 'Every card type with a policy or an adjustment.'),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ data: await admin.listAdjustments() }),
    );
    app.get(
      '/admin/v1/rate-adjustments/:card_type',
      {
        schema: {
          operationId: 'adminGetRateAdjustment',
          tags,
          summary: "One card type's automatic adjustment",
          params: CardTypeParams,
          response: {
            200: answer(AdjustmentView, "The card type's policy, current adjustment and history."),
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (request) => unwrap(await admin.getAdjustment(request.params.card_type)),
    );
    app.put(
      '/admin/v1/rate-adjustments/:card_type',
      {
        config: { auditBefore: readBefore((p: { card_type: string }) => admin.getAdjustment(p.card_type)) },
        schema: {
          operationId: 'adminPutRateAdjustment',
          tags,
          summary: 'Set (or switch off) the automatic adjustment of a card type',
          description: 'Judged at once; switching off lifts a lowering from RECARD_PRICING_REFRESH_MS on.',
          params: CardTypeParams,
          body: AdjustmentPolicyInput,
          response: {
            200: answer(AdjustmentView, 'The policy as stored, judged at once.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await admin.putPolicy(request.params.card_type, request.body)),
    );
    app.get(
      '/admin/v1/fx-rates',
      {
        schema: {
          operationId: 'adminListFxRates',
          tags,
          summary: 'The newest exchange rate of every pair and source',
          response: {
            200: answer(FxRateList, 'The latest rate of every pair and source.'),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ data: await admin.listFx() }),
    );
    app.put(
      '/admin/v1/fx-rates/:base/:quote',
      {
        config: {
          auditBefore: readBefore(async (p: { base: string; quote: string }) =>
            (await admin.listFx()).filter((r) => r.base === p.base && r.quote === p.quote),
          ),
        },
        schema: {
          operationId: 'adminPutFxRate',
          tags,
          summary: 'Set a manual exchange rate (the fallback when the feed is stale)',
          params: FxPairParams,
          body: FxRateInput,
          response: {
            200: answer(FxRateView, 'The manual rate as stored.'),
            ...errorResponses(400, 401, 409, 413, 415),
          },
        },
      },
      async (request) =>
        unwrap(await admin.putManualFx(request.params.base, request.params.quote, request.body)),
    );
  };
}
