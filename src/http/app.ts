import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import fastJsonStringify from 'fast-json-stringify';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { ApiError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import { clientErrorHandler, frameworkErrors, installBodyDeadline } from './client-errors.js';
import { installErrorHandling } from './error-handler.js';
import { installRawJsonParser } from './json-body.js';
import type { Metrics } from './metrics.js';
import { publishDocument, type WebhookSpec } from './openapi.js';
import { completeOperation } from './operation.js';
import { opsRoutes, type ReadinessCheck } from './ops-routes.js';
import type { RateLimits } from './rate-limit/limiter.js';
import { collectRoutes } from './route-list.js';
import { installValidation } from './validation.js';

export interface AppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** RECARD_REQUEST_TIMEOUT_MS: the whole request must arrive within it (slow bodies get 408). */
  requestTimeoutMs?: number;
  /** RECARD_TRUST_PROXY: whose X-Forwarded-For names the client (unset: nobody's). */
  trustProxy?: string | undefined;
  /** Per-address limits on traffic without proven credentials (docs/limits.md). */
  rateLimits?: RateLimits;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  /** Route plugins, each already wrapped in its authentication (channelApi, later adminApi). */
  apis: FastifyPluginAsync[];
  version: string;
  /** The events channels receive, published in the document's `webhooks` section. */
  webhooks?: readonly WebhookSpec[];
  /** Serve HTTPS; with `clientCa`, ask for client certificates (mutual TLS). PEM contents. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer | undefined };
  /** Serve the API reference (/docs, /openapi.json); a worker's operations port does not. */
  docs?: boolean;
}

/**
 * TLS 1.2 or later. A client certificate is asked for but not required at the handshake: probes and
 * channels not bound to a certificate still connect, and a bound channel is refused by its binding.
 */
function httpsOptions(tls: NonNullable<AppOptions['tls']>) {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2' as const,
    ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/**
 * One access-log line per request, when it is answered: method, route, status and time (Fastify's
 * default writes a second line on arrival). The path is the route template, not the URL, so that no
 * query string reaches the log.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(request.channel ? { channel_id: request.channel.id } : {}),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** RECARD_TRUST_PROXY as Fastify's trustProxy: `true`, a hop count, or addresses/CIDRs. */
export function trustProxyOption(value: string | undefined): boolean | number | string {
  const v = value?.trim();
  if (!v || v === 'false') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}
const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Response serializers, one per distinct schema: every route answers its errors with the same body,
 * so some 1,100 status × route schemas are a hundred or so distinct ones, and each compile builds an
 * Ajv instance (fast-json-stringify) — most of a server's start-up before this cache. Descriptions
 * and examples do not change what is written, so they are left out of the key.
 */
const serializers = new Map<string, (value: unknown) => string>();
const SERIALIZER_KEY_SKIP = new Set(['x-response-description', 'description', 'examples', 'title']);
function serializerFor(schema: unknown): (value: unknown) => string {
  const key = JSON.stringify(schema, (k, v) => (SERIALIZER_KEY_SKIP.has(k) ? undefined : v));
  let serializer = serializers.get(key);
  if (!serializer) {
    serializer = fastJsonStringify(schema as Parameters<typeof fastJsonStringify>[0]) as (
      value: unknown,
    ) => string;
    serializers.set(key, serializer);
  }
  return serializer;
}

/** The HTTP application: framework conventions here, routes from the modules, wiring in main/. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.tls ? { https: httpsOptions(options.tls) } : {}),
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    logController: new AccessLog({
      requestIdLogLabel: 'request_id',
      // Probes and scrapes every few seconds would drown the request log.
      disableRequestLogging: (request) => OPS_PATHS.has(request.url.split('?')[0] ?? ''),
    }),
    requestIdHeader: false,
    // A caller's own request id is kept when it is well-formed, so logs on both sides line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && INCOMING_REQUEST_ID.test(given) ? given : newId('req');
    },
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Requests arriving while we close get our own error body (below), not Fastify's.
    return503OnClosing: false,
    // Refusals before any route (bad HTTP, bad URL, over-long parameters) get the one error body too.
    clientErrorHandler: clientErrorHandler(options.logger as FastifyBaseLogger),
    frameworkErrors,
    // A hop count is documented and honoured by Fastify, though its type leaves numbers out.
    trustProxy: trustProxyOption(options.trustProxy) as boolean | string,
    // Node's timer for headers; the body's deadline is installBodyDeadline's (below).
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  }) as unknown as FastifyInstance;

  collectRoutes(app);
  // Before any route: every operation is completed with the statuses and descriptions all share.
  app.addHook('onRoute', completeOperation);
  app.setSerializerCompiler(({ schema }) => serializerFor(schema));
  installValidation(app);
  installErrorHandling(app);
  installBodyDeadline(app, options.requestTimeoutMs ?? 30_000, options.logger as FastifyBaseLogger);
  installRawJsonParser(app);

  // WebSocket routes (the live event stream); messages from clients are not expected, so kept tiny.
  await app.register(websocket, { options: { maxPayload: 4096 } });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new ApiError('service_unavailable', 'This instance is shutting down; retry.', {
      headers: { 'retry-after': '1' },
    });
  });

  // A NUL character is no text any store keeps (PostgreSQL refuses it outright): refused here, for
  // every query parameter and path parameter, before any route reads it.
  app.addHook('preValidation', async (request) => {
    for (const [where, values] of [
      ['query', request.query],
      ['params', request.params],
    ] as const) {
      if (!values || typeof values !== 'object') continue;
      for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
        const texts = Array.isArray(value) ? value : [value];
        if (texts.some((t) => typeof t === 'string' && t.includes('\u0000')))
          throw new ApiError('invalid_request', `${where}.${name} must not contain a NUL character.`, {
            field: `${where}.${name}`,
          });
      }
    }
  });

  options.rateLimits?.install(app);

  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    options.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  if (options.docs ?? true) await publishReference(app, options);
  await app.register(opsRoutes(options.readiness, options.metrics));
  for (const api of options.apis) await app.register(api);
  return app;
}

/** The OpenAPI document and its viewer, from the routes' own schemas. */
async function publishReference(app: FastifyInstance, options: AppOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Recard API',
        version: options.version,
        description:
          'Prepaid card recycling. Channel calls are signed with HMAC-SHA256 (see docs/signing.md); ' +
          'every error has the body `{"error":{"code","message","field","request_id"}}` (see docs/errors.md). ' +
          'Events (docs/events.md) are listed at GET /v1/events; their payloads are under `webhooks`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: 'http://127.0.0.1:3000', description: 'npm start (the embedded default)' }],
      components: {
        securitySchemes: {
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description:
              'For /admin/v1 routes: a session token from POST /admin/v1/sessions, or the break-glass RECARD_ADMIN_TOKEN (role admin, audited). docs/security.md.',
          },
          sellerSession: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-recard_h5_session',
            description:
              'The h5 seller page session cookie, set by POST /h5/v1/channels/{channel_id}/sessions. POST, PUT, PATCH and DELETE with it must also send X-Recard-CSRF: the csrf_token of the session (docs/h5-sellers.md).',
          },
          sellerBearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'The same session as a bearer token (the `token` of the sign-in answer), for app shells; no CSRF header needed.',
          },
          channelId: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Recard-Channel',
            description: 'The channel id (`ch_…`). One of the four signing headers, all required together.',
          },
          requestTimestamp: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Recard-Timestamp',
            description: 'Unix seconds; refused if more than RECARD_SIGNATURE_WINDOW_S from our clock.',
          },
          requestNonce: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Recard-Nonce',
            description: '16–64 characters of A–Z a–z 0–9 _ -, new for every request.',
          },
          requestSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Recard-Signature',
            description:
              'HMAC-SHA256 (hex) over `timestamp\\nnonce\\nMETHOD\\npath?query\\nbody`, keyed with the channel secret (docs/signing.md).',
          },
        },
      },
    },
    transformObject: (documents) =>
      publishDocument(
        ('openapiObject' in documents ? documents.openapiObject : {}) as Record<string, unknown>,
        options.webhooks ?? [],
      ) as never,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
