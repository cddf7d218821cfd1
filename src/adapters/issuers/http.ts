import { Agent, request } from 'undici';
import { IssuerCallError } from './port.js';

/**
 * The HTTP leg shared by every issuer adapter (undici: pooled keep-alive connections, abortable).
 * Transport trouble becomes an IssuerCallError of the right kind; the adapter reads the answer.
 */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
}

/** Connection pool per adapter; the backstop timeouts are far above the resilience policy's. */
export function createAgent(connections = 64): Agent {
  return new Agent({ connections, headersTimeout: 60_000, bodyTimeout: 60_000, keepAliveTimeout: 10_000 });
}

const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function toCallError(err: unknown, signal?: AbortSignal): IssuerCallError {
  if (err instanceof IssuerCallError) return err;
  if (signal?.aborted)
    return new IssuerCallError('timeout', 'the call was aborted before the issuer answered');
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return new IssuerCallError('timeout', `no answer in time (${code})`);
  if (CONNECTION_CODES.has(code) || (err as Error).name === 'SocketError')
    return new IssuerCallError('connection', `connection failed (${code || (err as Error).message})`);
  return new IssuerCallError('connection', `transport error: ${(err as Error).message}`);
}

export async function httpCall(agent: Agent, call: HttpCall): Promise<HttpAnswer> {
  try {
    const res = await request(call.url, {
      method: call.method,
      headers: call.headers ?? {},
      ...(call.body !== undefined ? { body: call.body } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
      dispatcher: agent,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    throw toCallError(err, call.signal);
  }
}

/** HTTP status → call error, for answers that carry no business result. */
export function statusError(status: number, what: string): IssuerCallError {
  if (status >= 500) return new IssuerCallError('unavailable', `${what}: HTTP ${status}`, String(status));
  return new IssuerCallError('rejected', `${what}: HTTP ${status}`, String(status));
}

/** A non-negative integer amount from the wire, or a malformed-answer error. */
export function amountOf(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : /^\d{1,15}$/.test(String(value)) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new IssuerCallError('malformed', `${field} is not an amount in minor units`);
  return n;
}
