import type { Failure } from '../../shared/result.js';
import type { PriceError } from '../pricing/index.js';
import type { IntakeRefusal } from './intake-guard.js';

/** Why a card is not taken in (or an order not shown): every refusal intake can answer. */
export type OrderError =
  | Failure<
      | 'idempotency_conflict'
      | 'unsupported_card_type'
      | 'invalid_card_number'
      | 'invalid_card_secret'
      | 'unsupported_face_value'
      | 'card_already_submitted'
      | 'resource_not_found'
      | 'invalid_request'
      | 'amount_out_of_range'
      | 'daily_limit_reached'
    >
  | CallbackUrlError
  | IntakeRefusal
  | PriceError;

/** An order's callback_url that would never be called. */
export type CallbackUrlError = Failure<
  'url_invalid' | 'url_address_refused' | 'url_host_unresolvable' | 'callback_host_not_allowed'
>;
