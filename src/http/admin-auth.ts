import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Idempotency } from '../modules/idempotency/index.js';
import { ApiError } from '../shared/errors.js';
import { installIdempotency } from './idempotency.js';
import { decodeJsonBody } from './json-body.js';
import { requireSecurity } from './operation.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Who made an admin call, for anything kept per caller (idempotency keys). One token means one
 * caller today; when admin users land, this names the user the request authenticated as.
 */
export function callerOf(_request: FastifyRequest): string {
  return 'admin';
}

/**
 * The operators' API under /admin/v1: `Authorization: Bearer <RECARD_ADMIN_TOKEN>`. Digests are
 * compared, so the comparison takes the same time whatever the length of the guess. Roles
 * (reviewer, finance, admin) replace the single token when the review and settlement issues land.
 */
export function adminApi(
  token: string,
  routes: FastifyPluginAsync[],
  idempotency?: Idempotency,
): FastifyPluginAsync {
  const expected = digest(token);
  return async (app: FastifyInstance) => {
    app.addHook('onRoute', (route) => requireSecurity(route, [{ adminToken: [] }]));
    app.addHook('preValidation', async (request) => {
      const header = request.headers.authorization ?? '';
      // The scheme name is case-insensitive (RFC 9110 §11.1).
      const given = /^bearer /i.test(header) ? header.slice('bearer '.length) : '';
      if (!given || !timingSafeEqual(digest(given), expected)) {
        throw new ApiError(
          'admin_token_invalid',
          'Send the admin token as "Authorization: Bearer <token>".',
          {
            field: 'authorization',
            headers: { 'www-authenticate': 'Bearer realm="recard-admin"' },
          },
        );
      }
    });
    app.addHook('preValidation', decodeJsonBody);
    if (idempotency) installIdempotency(app, idempotency, (request) => `admin:${callerOf(request)}`);
    for (const r of routes) await app.register(r);
  };
}
