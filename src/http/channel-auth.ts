import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, ChannelView } from '../modules/channels/index.js';
import type { Idempotency } from '../modules/idempotency/index.js';
import { installIdempotency } from './idempotency.js';
import { decodeJsonBody } from './json-body.js';
import { errorResponses, requireSecurity } from './operation.js';
import type { RateLimits } from './rate-limit/limiter.js';
import { unwrap } from './result.js';

declare module 'fastify' {
  interface FastifyRequest {
    channel?: ChannelView;
  }
}

/** The channel a request was signed by; only routes inside `channelApi` have one. */
export function authenticatedChannel(request: FastifyRequest): ChannelView {
  if (!request.channel) throw new Error('route is not behind channel authentication');
  return request.channel;
}

/**
 * The SHA-256 of the client certificate, when the connection is mutual TLS and our client CA signed
 * it; a certificate the CA did not sign counts as none.
 */
export function clientCertificateSha256(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (!socket.encrypted || !socket.authorized || typeof socket.getPeerCertificate !== 'function')
    return undefined;
  const cert = socket.getPeerCertificate();
  return cert?.fingerprint256 ? cert.fingerprint256.replace(/:/g, '').toLowerCase() : undefined;
}

/**
 * The signed channel API: every route registered here is authenticated (signature over the raw
 * body) before its body is decoded and validated.
 */
export function channelApi(
  authenticate: Authenticator,
  rateLimits: RateLimits | undefined,
  routes: FastifyPluginAsync[],
  idempotency?: Idempotency,
): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // All four signing headers together (one requirement object is AND).
    app.addHook('onRoute', (route) => {
      requireSecurity(route, [
        { channelId: [], requestTimestamp: [], requestNonce: [], requestSignature: [] },
      ]);
      const schema = route.schema as { response?: Record<string, unknown> };
      schema.response = { ...errorResponses(403, 429), ...schema.response };
    });
    app.addHook('preValidation', async (request, reply) => {
      const channel = unwrap(
        await authenticate({
          headers: request.headers,
          method: request.method,
          url: request.url,
          rawBody: request.rawBody,
          clientCertSha256: clientCertificateSha256(request),
          ip: request.ip,
        }),
      );
      await admitChannelCall(request, reply, channel, rateLimits);
      request.channel = channel;
    });
    app.addHook('preValidation', decodeJsonBody);
    // Keys are the channel's own: two channels may use the same key.
    if (idempotency)
      installIdempotency(app, idempotency, (request) => `channel:${authenticatedChannel(request).id}`);
    for (const r of routes) await app.register(r);
  };
}

/**
 * The channel's own limits on a proven call (docs/limits.md): where it may come from (403
 * `ip_not_allowed`), then how often (its token bucket, 429 `rate_limited`). Nothing of the
 * request is done when either refuses.
 */
async function admitChannelCall(
  request: FastifyRequest,
  reply: FastifyReply,
  channel: ChannelView,
  rateLimits: RateLimits | undefined,
): Promise<void> {
  await rateLimits?.channel(request, reply, channel);
}
