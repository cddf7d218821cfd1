import { ApiError, type ErrorCode } from '../shared/errors.js';
import type { Failure, Result } from '../shared/result.js';

/** The edge's one conversion: a service's failure value becomes the error body and its headers. */
export function toApiError(f: Failure<ErrorCode>): ApiError {
  return new ApiError(f.code, f.message, {
    ...(f.field === undefined ? {} : { field: f.field }),
    ...(f.retryAfterS === undefined ? {} : { headers: { 'retry-after': String(f.retryAfterS) } }),
  });
}

/** A route's answer from a service's result: the value, or the failure answered as an error. */
export function unwrap<T>(r: Result<T, ErrorCode>): T {
  if (r.ok) return r.value;
  throw toApiError(r);
}
