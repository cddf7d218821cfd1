import type { Failure } from '../../shared/result.js';

/** Why an account, a statement or a transfer request cannot be answered. */
export type LedgerError = Failure<'resource_not_found' | 'invalid_request'>;
