import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { adminApi } from '../http/admin-auth.js';
import { buildApp } from '../http/app.js';
import { channelApi } from '../http/channel-auth.js';
import { h5Api } from '../http/seller-auth.js';
import type { JobRuntime } from '../jobs/runtime.js';
import { adminSessionRoutes, adminUserRoutes } from '../modules/admins/index.js';
import { batchRoutes } from '../modules/batches/index.js';
import { cardTypeAdminRoutes, cardTypeRoutes } from '../modules/cards/index.js';
import {
  channelAdminRoutes,
  channelKeyAdminRoutes,
  channelKeyRoutes,
  channelRoutes,
  oauthRoutes,
} from '../modules/channels/index.js';
import { eventAdminRoutes, eventRoutes, eventStreamRoutes, eventWebhooks } from '../modules/events/index.js';
import { ledgerRoutes } from '../modules/ledger/index.js';
import { lockoutAdminRoutes } from '../modules/lockouts/index.js';
import { orderRoutes, sellerOrderRoutes } from '../modules/orders/index.js';
import { pricingAdminRoutes, quoteRoutes } from '../modules/pricing/index.js';
import { reviewAdminRoutes } from '../modules/reviews/index.js';
import { riskAdminRoutes, riskRingRoutes, stepUpRoutes } from '../modules/risk/index.js';
import { sellerLoginRoutes, sellerRoutes, sellerSessionRoutes } from '../modules/sellers/index.js';
import {
  payoutNotificationRoutes,
  sellerSettlementRoutes,
  settlementAdminRoutes,
  settlementRoutes,
} from '../modules/settlement/index.js';
import { issuerAdminRoutes } from '../modules/verification/index.js';
import { adminWebhookRoutes, callbackTestRoutes, channelWebhookRoutes } from '../modules/webhooks/index.js';
import { type Context, VERSION } from './context.js';
import { readinessChecks } from './readiness.js';
import { startWorker } from './worker.js';

/** The PEM files of RECARD_TLS_CERT / _KEY / _CLIENT_CA, when HTTPS is configured. */
function tlsFiles(ctx: Context) {
  const { tlsCert, tlsKey, tlsClientCa } = ctx.config;
  if (!tlsCert && !tlsKey) return undefined;
  if (!tlsCert || !tlsKey)
    throw new Error('HTTPS needs both RECARD_TLS_CERT and RECARD_TLS_KEY (--tls-cert, --tls-key)');
  return {
    cert: readFileSync(tlsCert),
    key: readFileSync(tlsKey),
    clientCa: tlsClientCa ? readFileSync(tlsClientCa) : undefined,
  };
}

export async function buildApi(ctx: Context, runtime: JobRuntime | null): Promise<FastifyInstance> {
  if (ctx.config.tlsClientCa && !ctx.config.tlsCert)
    throw new Error('RECARD_TLS_CLIENT_CA (--client-ca) needs HTTPS: give --tls-cert and --tls-key too');
  const tls = tlsFiles(ctx);
  return buildApp({
    ...(tls ? { tls } : {}),
    logger: ctx.logger,
    bodyLimitBytes: ctx.config.bodyLimitBytes,
    trustProxy: ctx.config.trustProxy,
    requestTimeoutMs: ctx.config.requestTimeoutMs,
    rateLimits: ctx.rateLimits,
    metrics: ctx.metrics,
    readiness: readinessChecks(ctx, runtime),
    version: VERSION,
    webhooks: eventWebhooks(ctx.events.catalogue),
    apis: [
      payoutNotificationRoutes(ctx.payoutNotifications),
      oauthRoutes(ctx.oauth),
      channelApi(
        ctx.authenticate,
        ctx.rateLimits,
        [
          channelRoutes(ctx.channels, ctx.config.secretOverlapS),
          channelKeyRoutes(ctx.channelKeys),
          cardTypeRoutes(ctx.cardTypes),
          orderRoutes(ctx.orders),
          stepUpRoutes(ctx.stepUps),
          quoteRoutes(ctx.pricing),
          callbackTestRoutes(ctx.callbackTests),
          eventRoutes(ctx.eventQueries, ctx.events.catalogue),
          eventStreamRoutes(ctx.streams),
          channelWebhookRoutes(ctx.webhooks),
          sellerRoutes(ctx.sellers),
          settlementRoutes(ctx.settlement),
          batchRoutes(ctx.batches, { maxBytes: ctx.config.batchMaxBytes }),
        ],
        ctx.idempotency,
      ),
      h5Api({
        logins: ctx.sellerLogins,
        publicRoutes: [sellerLoginRoutes(ctx.sellerLogins)],
        sessionRoutes: [
          sellerSessionRoutes(ctx.sellerLogins),
          sellerOrderRoutes(ctx.orders),
          sellerSettlementRoutes(ctx.settlement),
        ],
        idempotency: ctx.idempotency,
        // Seller-page traffic always draws from its address's bucket (docs/limits.md#rate-limits): the
        // server-wide hook already draws for calls without an Authorization header; this for the rest.
        guards: [
          async (request, reply) => {
            if (request.rateLimitCredentialed) await ctx.rateLimits.ip(request, reply);
          },
        ],
      }),
      adminApi(
        {
          breakGlassToken: ctx.adminToken,
          authenticate: (token) => ctx.admins.authenticate(token),
          audit: ctx.audit,
          logger: ctx.logger,
          idempotency: ctx.idempotency,
        },
        [
          adminSessionRoutes(ctx.admins),
          adminUserRoutes(ctx.admins, ctx.audit),
          cardTypeAdminRoutes(ctx.cardTypes),
          issuerAdminRoutes(ctx.issuerAdmin),
          channelAdminRoutes(ctx.channels, ctx.config.secretOverlapS),
          channelKeyAdminRoutes(ctx.channelKeys),
          pricingAdminRoutes(ctx.pricingAdmin),
          eventAdminRoutes(ctx.eventQueries, ctx.events.catalogue),
          adminWebhookRoutes(ctx.webhooks),
          ledgerRoutes(ctx.ledger, ctx.storage.db),
          settlementAdminRoutes(ctx.settlement),
          lockoutAdminRoutes(ctx.lockouts),
          riskAdminRoutes(ctx.risk),
          reviewAdminRoutes(ctx.reviews),
          riskRingRoutes({ db: ctx.storage.db }),
        ],
      ),
    ],
  });
}

export interface RunningServer {
  app: FastifyInstance;
  runtime: JobRuntime | null;
  url: string;
  /** Graceful: stop taking requests, finish in-flight ones, let jobs finish or hand them back. */
  stop(): Promise<void>;
}

export async function startServer(ctx: Context, options: { worker: boolean }): Promise<RunningServer> {
  // Only the process that takes cards in needs the duplicate filter: CLI commands and workers skip the scan.
  const held = await ctx.orders.init();
  ctx.logger.info({ cards_held: held }, 'duplicate-card filter loaded');
  const runtime = options.worker ? startWorker(ctx) : null;
  const app = await buildApi(ctx, runtime);
  const address = await app.listen({ host: ctx.config.host, port: ctx.config.port });
  let stopping: Promise<void> | null = null;
  return {
    app,
    runtime,
    url: address,
    stop() {
      stopping ??= (async () => {
        // Live streams never end on their own: close them first, or closing would wait for them.
        ctx.streams.stop();
        await app.close();
        await runtime?.stop(ctx.config.shutdownGraceMs);
      })();
      return stopping;
    },
  };
}
