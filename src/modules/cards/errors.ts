import type { Failure } from '../../shared/result.js';

/** Why a change to the card catalogue is refused. */
export type CardTypeError = Failure<'invalid_request' | 'card_type_not_found' | 'card_type_exists'>;
