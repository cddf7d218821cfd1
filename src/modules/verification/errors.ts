import type { Failure } from '../../shared/result.js';

/** Why an operator's issuer route or code is refused. */
export type IssuerAdminError = Failure<'invalid_request'>;
