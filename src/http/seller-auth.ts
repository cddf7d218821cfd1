import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Idempotency } from '../modules/idempotency/index.js';
import { csrfMatches, type SellerLogins, type SellerSession } from '../modules/sellers/index.js';
import { ApiError } from '../shared/errors.js';
import { installIdempotency } from './idempotency.js';
import { decodeJsonBody } from './json-body.js';
import { requireSecurity } from './operation.js';
import { unwrap } from './result.js';

declare module 'fastify' {
  interface FastifyRequest {
    sellerSession?: SellerSession;
    /** The token the session was presented with (for the CSRF token and /h5/v1/session). */
    sellerToken?: string;
  }
}

/** `__Host-`: only over HTTPS, for this host, path `/`; no subdomain can set or read it. */
export const SESSION_COOKIE = '__Host-recard_h5_session';
export const CSRF_HEADER = 'x-recard-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sessionCookie(token: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeS}; HttpOnly; Secure; SameSite=Strict`;
}
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

/** The signed-in seller; only routes inside `h5Api`'s session part have one. */
export function authenticatedSeller(request: FastifyRequest): SellerSession {
  if (!request.sellerSession) throw new Error('route is not behind seller session authentication');
  return request.sellerSession;
}
export function sellerToken(request: FastifyRequest): string {
  return request.sellerToken ?? '';
}

function cookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Bearer (app shells) or the cookie (the web page): which one decides whether CSRF applies. */
function presented(request: FastifyRequest): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = request.headers.authorization;
  if (header !== undefined)
    return { token: /^bearer /i.test(header) ? header.slice('bearer '.length).trim() : '', via: 'bearer' };
  const cookie = cookieToken(request);
  return cookie === undefined ? undefined : { token: cookie, via: 'cookie' };
}

const notSignedIn = () =>
  new ApiError(
    'seller_session_invalid',
    'Sign in first (the session cookie, or "Authorization: Bearer <token>").',
    {
      field: 'authorization',
      headers: { 'www-authenticate': 'Bearer realm="recard-h5"' },
    },
  );

export interface H5ApiOptions {
  logins: SellerLogins;
  /** Registration and login: no session yet (security `[]`; the route walk must exempt them). */
  publicRoutes: FastifyPluginAsync[];
  /** Everything a signed-in seller does. */
  sessionRoutes: FastifyPluginAsync[];
  idempotency?: Idempotency;
  /**
   * Run first on every /h5/v1 request, public or not, before any authentication or body work: the
   * one place the per-IP rate limiter is attached to the seller page.
   */
  guards?: onRequestAsyncHookHandler[];
}

/**
 * The seller page's API under /h5/v1 (docs/h5-sellers.md): sellers of an h5 channel sign in with
 * their phone and password; every other route needs the session, as the HttpOnly cookie (then a
 * state-changing request must echo the session's CSRF token in X-Recard-CSRF) or as a bearer token.
 */
export function h5Api(options: H5ApiOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    for (const guard of options.guards ?? []) app.addHook('onRequest', guard);
    app.addHook('preValidation', decodeJsonBody);
    for (const r of options.publicRoutes) await app.register(r);
    await app.register(async (scoped) => {
      scoped.addHook('onRoute', (route) =>
        requireSecurity(route, [{ sellerSession: [] }, { sellerBearer: [] }]),
      );
      // onRequest: before the body is parsed, so a request without a session costs nothing.
      scoped.addHook('onRequest', async (request) => {
        const given = presented(request);
        if (!given?.token) throw notSignedIn();
        const session = unwrap(await options.logins.authenticate(given.token));
        if (given.via === 'cookie' && !SAFE_METHODS.has(request.method)) {
          const csrf = request.headers[CSRF_HEADER];
          if (typeof csrf !== 'string' || !csrfMatches(given.token, csrf))
            throw new ApiError(
              'csrf_token_invalid',
              'Send the csrf_token of the session as X-Recard-CSRF with every change made with the cookie.',
              { field: CSRF_HEADER },
            );
        }
        request.sellerSession = session;
        request.sellerToken = given.token;
      });
      // Keys are the seller's own: two sellers (or a seller and the channel) may use the same key.
      if (options.idempotency)
        installIdempotency(scoped, options.idempotency, (request) => {
          const s = authenticatedSeller(request);
          return `seller:${s.channel.id}:${s.sellerId}`;
        });
      for (const r of options.sessionRoutes) await scoped.register(r);
    });
  };
}
