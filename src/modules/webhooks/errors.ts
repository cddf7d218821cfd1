import type { Failure } from '../../shared/result.js';

/** Why a test callback cannot be queued or shown. */
export type CallbackTestError = Failure<'callback_url_required' | 'resource_not_found'>;
