import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Claim, Idempotency } from '../modules/idempotency/index.js';
import { ApiError } from '../shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request claimed its Idempotency-Key; its answer is stored on the way out. */
    idempotencyClaim?: Claim;
  }
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[\x20-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on every POST of an API (docs/idempotency.md). Installed inside channelApi and
 * adminApi, so it runs after authentication and validation (preHandler): a refused request stores
 * nothing. `scopeOf` names the caller, so one caller's keys never meet another's.
 */
export function installIdempotency(
  app: FastifyInstance,
  idempotency: Idempotency,
  scopeOf: (request: FastifyRequest) => string,
): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST') return;
    const key = request.headers[IDEMPOTENCY_HEADER];
    if (key === undefined) return;
    // Validated here as well as in the schema: a route without the header in its schema is still safe.
    if (typeof key !== 'string' || !KEY.test(key))
      throw new ApiError('invalid_request', 'Idempotency-Key must be 1–255 printable ASCII characters.', {
        field: IDEMPOTENCY_HEADER,
      });
    const bodyHash = createHash('sha256')
      .update(request.signedBody ?? request.rawBody ?? Buffer.alloc(0))
      .digest('hex');
    const begun = await idempotency.begin(scopeOf(request), key, {
      method: request.method,
      path: request.url,
      bodyHash,
    });
    switch (begun.kind) {
      case 'claimed':
        request.idempotencyClaim = begun.claim;
        return;
      case 'replay':
        return reply
          .code(begun.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(begun.body);
      case 'in_flight':
        throw new ApiError(
          'idempotency_request_in_flight',
          'A request with this Idempotency-Key is still being processed; retry shortly.',
          { field: IDEMPOTENCY_HEADER, headers: { 'retry-after': '1' } },
        );
      case 'reused':
        throw new ApiError(
          'idempotency_key_reused',
          'This Idempotency-Key was used for another request (another body or path); use a new key.',
          { field: IDEMPOTENCY_HEADER },
        );
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const claim = request.idempotencyClaim;
    if (!claim) return payload;
    request.idempotencyClaim = undefined;
    try {
      // A 5xx is not an answer to keep: the key is given back so a retry executes again.
      if (reply.statusCode >= 500 || typeof payload !== 'string') await idempotency.release(claim);
      else if (!(await idempotency.finish(claim, reply.statusCode, payload)))
        request.log.warn({ key_scope: claim.scope }, 'idempotency claim lost before the answer was stored');
    } catch (err) {
      // The answer still goes out; the key stays claimed until its lease ends.
      request.log.error({ err }, 'could not store the idempotent answer');
    }
    return payload;
  });

  // A request that never reached onSend (the connection went away) gives its key back.
  app.addHook('onResponse', async (request) => {
    const claim = request.idempotencyClaim;
    if (!claim) return;
    request.idempotencyClaim = undefined;
    await idempotency.release(claim).catch((err) => request.log.error({ err }, 'could not release a key'));
  });
}
