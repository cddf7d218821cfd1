import type { ErrorCode } from './errors.js';

/**
 * An expected failure as a value: a service returns it, its caller must look at it, and only the
 * HTTP edge turns it into an error body and headers (http/result.ts). Exceptions stay for bugs
 * and broken infrastructure.
 */
export interface Failure<C extends ErrorCode = ErrorCode> {
  readonly ok: false;
  readonly code: C;
  /** For people; may change. */
  readonly message: string;
  /** The field, header or parameter at fault. */
  readonly field?: string;
  /** How soon trying again may help, in seconds (the edge sends it as Retry-After). */
  readonly retryAfterS?: number;
}

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export type Result<T, C extends ErrorCode> = Ok<T> | Failure<C>;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });

export function fail<C extends ErrorCode>(
  code: C,
  message: string,
  extra: { field?: string; retryAfterS?: number } = {},
): Failure<C> {
  return { ok: false, code, message, ...extra };
}
