import type { TSchema } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { IDEMPOTENCY_KEY_PATTERN } from '../modules/idempotency/index.js';
import { ErrorBody } from './error-body.js';

/**
 * What each error status of the API means, for the reference (docs/errors.md has every code).
 * Every operation lists the statuses it can answer with; the ones every operation shares are
 * added here, once, so a route declares only what is its own.
 */
export const ERROR_STATUS_DESCRIPTIONS = {
  400: 'Bad input; `error.field` names what to fix.',
  401: 'Missing or bad credentials: signature, timestamp, nonce, token or seller session (docs/signing.md, docs/h5-sellers.md).',
  403: 'Authenticated, but not allowed to do this.',
  404: 'No such thing, or it is not yours.',
  405: 'This path does not take this method; the Allow header lists the ones it takes.',
  409: 'Conflicts with what exists: a repeat with another body, a duplicate card, an expired or mismatched quote, a concurrent write, or a request with this Idempotency-Key still in flight.',
  413: 'The body is larger than the server accepts.',
  415: 'The body is not `application/json`.',
  422: "The card is refused: there is no offer for it now, it is locked after too many tries, or its amount is outside the channel's per-order limits; or the Idempotency-Key was used for another request.",
  423: 'Locked for a while after too many failures; Retry-After says when to try again.',
  429: "Too many requests (rate_limited), too many wrong secrets, or the channel's daily cap is reached (daily_limit_reached); Retry-After says when to try again (docs/limits.md).",
  500: 'Our fault; quote `error.request_id` to the operator.',
  503: 'Shutting down, or an upstream (exchange rates, the rate limiter) is unavailable; Retry-After says when to try again.',
} as const satisfies Record<number, string>;
export type ErrorStatus = keyof typeof ERROR_STATUS_DESCRIPTIONS;

const DESCRIPTION = 'x-response-description';

/** A success response: its schema and what it means (the reference shows the text, not "Default Response"). */
export function answer<S extends TSchema>(schema: S, description: string): S {
  return { ...schema, [DESCRIPTION]: description };
}

/** The error body as the answer of `status`. */
export function errorAnswer(status: ErrorStatus): typeof ErrorBody {
  return answer(ErrorBody, ERROR_STATUS_DESCRIPTIONS[status]);
}

/** Response schemas for the error statuses a route answers with beyond the ones every route shares. */
export function errorResponses(...statuses: ErrorStatus[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((s) => [s, errorAnswer(s)]));
}

type RouteSchema = NonNullable<RouteOptions['schema']> & {
  response?: Record<string, unknown>;
  headers?: { type: 'object'; properties: Record<string, unknown> };
  security?: unknown;
  hide?: boolean;
};

/**
 * Completes one operation's declaration (an `onRoute` hook over every route): the statuses every
 * operation can answer (400 for anything it validates, 413 and 415 with a body, 405, 500, 503),
 * error descriptions, and `security: []` for routes no authentication wraps (channelApi and
 * adminApi set their own after this).
 */
export function completeOperation(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as RouteSchema;
  if (schema.hide) return;
  const response: Record<string, unknown> = { ...(schema.response ?? {}) };
  const add = (status: ErrorStatus) => {
    if (!(status in response)) response[status] = errorAnswer(status);
  };
  if (schema.body || schema.querystring || schema.params) add(400);
  if (schema.body) {
    add(413);
    add(415);
  }
  add(405);
  // Every route is rate limited (docs/limits.md): by client address, or by channel once signed.
  add(429);
  add(500);
  add(503);
  let headers = schema.headers;
  if (takesIdempotencyKey(route)) {
    add(400);
    add(409);
    add(422);
    headers = {
      ...(headers ?? {}),
      type: 'object',
      properties: { ...(headers?.properties ?? {}), 'idempotency-key': IDEMPOTENCY_KEY_HEADER },
    };
  }
  route.schema = {
    ...schema,
    ...(headers ? { headers } : {}),
    response,
    security: schema.security ?? [],
  } as RouteOptions['schema'];
}

const IDEMPOTENCY_KEY_HEADER = {
  type: 'string',
  pattern: IDEMPOTENCY_KEY_PATTERN,
  description:
    'Optional. 1–255 printable ASCII characters, new for each operation. A repeat with the same key and body ' +
    'within 24 h gets the first answer again (with `Idempotent-Replayed: true`); another body or path is 422 ' +
    '`idempotency_key_reused`; while the first is running, 409 `idempotency_request_in_flight` (docs/idempotency.md).',
};

/**
 * Every POST of the channel and admin APIs takes an `Idempotency-Key`, and so does every POST of the
 * seller page made in a session; sign-up and sign-in (`/h5/v1/channels/…`) have no session to scope it by.
 */
function takesIdempotencyKey(route: RouteOptions): boolean {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const url = route.url;
  return (
    methods.includes('POST') &&
    (url.startsWith('/v1/') ||
      url.startsWith('/admin/v1/') ||
      (url.startsWith('/h5/v1/') && !url.startsWith('/h5/v1/channels/')))
  );
}

/** An authenticated operation: the security it requires, and the 401 its refusal answers with. */
export function requireSecurity(route: RouteOptions, security: Record<string, string[]>[]): void {
  const schema = (route.schema ?? {}) as RouteSchema;
  route.schema = {
    ...schema,
    response: { ...schema.response, ...errorResponses(401) },
    security,
  } as RouteOptions['schema'];
}
