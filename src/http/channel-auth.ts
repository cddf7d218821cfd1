import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedCall, Authenticator, ChannelView } from '../modules/channels/index.js';
import type { Idempotency } from '../modules/idempotency/index.js';
import { ApiError } from '../shared/errors.js';
import { installIdempotency } from './idempotency.js';
import { decodeJsonBody } from './json-body.js';
import { errorResponses, requireSecurity } from './operation.js';
import type { RateLimits } from './rate-limit/limiter.js';
import { unwrap } from './result.js';

declare module 'fastify' {
  interface FastifyRequest {
    channel?: ChannelView;
    /** Which credential proved the call (channels/authenticate.ts). */
    channelCredential?: AuthenticatedCall['via'];
  }
  interface FastifyContextConfig {
    /**
     * Routes that change the channel's credentials. `current`: not with the secret a rotation
     * replaced (its holder could take the channel over); `key`: only signed by a registered key (a
     * leaked HMAC secret must not be able to add a key that outlives its rotation).
     */
    credentials?: 'current' | 'key';
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
      const call = unwrap(
        await authenticate({
          headers: request.headers,
          method: request.method,
          url: request.url,
          rawBody: request.signedBody ?? request.rawBody,
          clientCertSha256: clientCertificateSha256(request),
          ip: request.ip,
        }),
      );
      const needs = request.routeOptions.config.credentials;
      if (needs === 'current' && call.via === 'previous_secret')
        throw new ApiError(
          'current_credentials_required',
          'This call changes credentials: sign it with the current secret, not the one it replaced.',
          { field: 'x-recard-signature' },
        );
      if (needs === 'key' && call.via !== 'key')
        throw new ApiError(
          'current_credentials_required',
          'A key is registered with a signature by a key already registered (RSA-SHA256 or SM2-SM3); the first one by the operator.',
          { field: 'x-recard-sign-type' },
        );
      // Proven from here on, even if its own bucket refuses it (its address does not pay for that).
      request.channel = call.channel;
      request.channelCredential = call.via;
      await admitChannelCall(request, reply, call.channel, rateLimits);
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
