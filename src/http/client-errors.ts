import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorCode } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { ErrorBody } from './error-body.js';
import { sendError } from './error-handler.js';

/**
 * Node's parser refusals (`clientError`): the bytes never became a request, so Fastify has no reply
 * to send through. The answer is written on the socket by hand, in the one error body, with a
 * request id made for it; the connection is closed, since the parser's state is lost.
 */
const PARSER_CODES: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    code: 'headers_too_large',
    message: 'The request line and headers are larger than 16 KB.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', message: 'The request did not arrive in time.' },
  ERR_HTTP_HEADERS_TIMEOUT: { code: 'request_timeout', message: 'The request did not arrive in time.' },
};

export function clientErrorAnswer(err: NodeJS.ErrnoException): { status: number; bytes: string; id: string } {
  const known = (err.code && PARSER_CODES[err.code]) || {
    code: 'malformed_request' as const,
    message: 'The request is not well-formed HTTP.',
  };
  const api = new ApiError(known.code, known.message);
  const id = newId('req');
  const body: ErrorBody = { error: { code: api.code, message: api.message, request_id: id } };
  const text = JSON.stringify(body);
  const bytes =
    `HTTP/1.1 ${api.status} ${STATUS_CODES[api.status] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `X-Request-Id: ${id}\r\nConnection: close\r\n\r\n${text}`;
  return { status: api.status, bytes, id };
}

export function clientErrorHandler(log: FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = clientErrorAnswer(err);
    log.info({ request_id: answer.id, status: answer.status, parser_code: err.code }, 'bad HTTP refused');
    // As Node's own handler: not over an answer already on its way on this connection.
    const busy = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (socket.writable && !busy) socket.end(answer.bytes);
    else socket.destroy();
  };
}

/** Router refusals Fastify hands over with a request: a bad percent-encoding, an over-long parameter. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const api =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new ApiError('uri_too_long', 'A path segment is longer than 200 characters.')
      : error.code === 'FST_ERR_BAD_URL'
        ? new ApiError('malformed_request', 'The path has an invalid percent-encoding.')
        : new ApiError('invalid_request', 'The request is not valid.');
  void sendError(reply, api);
}

/**
 * A deadline for the whole request body. Node's own `requestTimeout` stops watching once the headers
 * are in, so a body sent a byte at a time would hold its connection (and a body buffer) for ever:
 * when the body is not complete in time, the answer is 408 in the error body and the connection is
 * closed, before any handler ran.
 */
export function installBodyDeadline(
  app: { addHook: (name: 'onRequest', hook: (request: FastifyRequest) => Promise<void>) => unknown },
  deadlineMs: number,
  log: FastifyBaseLogger,
): void {
  app.addHook('onRequest', async (request) => {
    const raw = request.raw;
    if (raw.complete) return;
    const timer = setTimeout(() => {
      if (raw.complete || raw.socket.destroyed) return;
      const answer = clientErrorAnswer(
        Object.assign(new Error('body timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
      );
      log.info({ request_id: answer.id, status: answer.status }, 'request body did not arrive in time');
      raw.socket.end(answer.bytes);
      raw.socket.destroySoon?.();
    }, deadlineMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    raw.once('close', clear);
  });
}
