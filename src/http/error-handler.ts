import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { ApiError, type ErrorCode } from '../shared/errors.js';
import { isUniqueViolation } from '../storage/errors.js';
import type { ErrorBody } from './error-body.js';

/** Fastify's own failures mapped to our codes; anything else is a bug and answers internal_error. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_BAD_URL: 'malformed_request',
  FST_ERR_ASYNC_CONSTRAINT: 'invalid_request',
};

const MESSAGES: Partial<Record<ErrorCode, string>> = {
  payload_too_large: 'The request body is larger than this server accepts.',
  unsupported_media_type: 'Send the request body as application/json.',
  malformed_json: 'The request body is not valid JSON.',
  internal_error: 'Something went wrong on our side. Quote the request_id if you contact support.',
};

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  const body: ErrorBody = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.field === undefined ? {} : { field: error.field }),
      request_id: String(reply.request.id),
    },
  };
  if (error.headers) void reply.headers(error.headers);
  // Also set here: answers Fastify sends before a route (frameworkErrors) skip the onSend hooks.
  void reply.header('x-request-id', String(reply.request.id));
  return reply.status(error.status).type('application/json; charset=utf-8').send(body);
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/seller/id` + missingProperty → `seller.id`; the validation context names query/params/headers. */
function fieldOf(issue: AjvIssue, context: string | undefined): string {
  const parts = issue.instancePath.split('/').filter((p) => p.length > 0);
  const extra = issue.params.missingProperty ?? issue.params.additionalProperty;
  if (typeof extra === 'string') parts.push(extra);
  const path = parts.join('.');
  if (context === 'body' || context === undefined) return path || 'body';
  // A header is named as it is sent (`idempotency-key`), like the signing headers.
  if (context === 'headers' && path) return path;
  return path ? `${context === 'querystring' ? 'query' : context}.${path}` : context;
}

function validationError(error: FastifyError): ApiError {
  const issue = (error.validation as AjvIssue[] | undefined)?.[0];
  if (!issue) return new ApiError('invalid_request', 'The request is not valid.');
  const field = fieldOf(issue, error.validationContext);
  const message =
    issue.keyword === 'required'
      ? `${field} is required.`
      : issue.keyword === 'additionalProperties'
        ? `${field} is not a known field.`
        : `${field} ${issue.message ?? 'is not valid'}.`;
  return new ApiError('invalid_request', message, { field });
}

export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (fe?.validation) return validationError(fe);
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new ApiError(mapped, MESSAGES[mapped] ?? fe.message);
  return null;
}

/**
 * Every failure leaves as the one error body. Unknown errors are logged with their stack and
 * answered with a generic message: no stack, no SQL, no driver text reaches the caller.
 */
export function installErrorHandling(app: FastifyInstance): void {
  // A shadow router of every route, to tell "no such path" (404) from "path exists, not this method" (405).
  const shadow = FindMyWay();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (!shadow.hasRoute(m as HTTPMethod, route.url))
        shadow.on(m as HTTPMethod, route.url, () => undefined);
    }
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter(
      (m) => shadow.find(m, path) !== null,
    );
    if (allowed.length > 0) {
      return sendError(
        reply,
        new ApiError(
          'method_not_allowed',
          `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}.`,
          {
            headers: { allow: allowed.join(', ') },
          },
        ),
      );
    }
    // The path is echoed only in part: an answer should not carry back whatever a caller sent.
    const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
    return sendError(reply, new ApiError('route_not_found', `There is no route ${request.method} ${shown}.`));
  });

  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const api = toApiError(err);
    if (api) {
      if (api.status >= 500) request.log.warn({ code: api.code }, api.message);
      return sendError(reply, api);
    }
    const status = (err as FastifyError)?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // A 4xx raised by the framework or a plugin that has no code of ours yet.
      request.log.warn({ err }, 'client error without a mapped code');
      return sendError(reply, new ApiError('invalid_request', 'The request is not valid.'));
    }
    if (isUniqueViolation(err)) {
      // A race a service did not foresee (two writers of one key): the loser is told, not blamed on us.
      request.log.warn({ err }, 'unique constraint refused a write that escaped its service');
      return sendError(
        reply,
        new ApiError('conflict', 'A concurrent request changed the same object first; read it and retry.'),
      );
    }
    request.log.error({ err }, 'unhandled error');
    return sendError(reply, new ApiError('internal_error', MESSAGES.internal_error ?? 'internal error'));
  });
}
