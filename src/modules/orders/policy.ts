import { type Failure, fail } from '../../shared/result.js';
import type { ChannelView } from '../channels/index.js';
import type { PriceRow } from '../pricing/index.js';
import { checkDestination } from '../sellers/index.js';
import type { SubmitOrder } from './model.js';

/**
 * The channel's policy at intake (docs/limits.md): the order fields its kind requires and its
 * per-order amount limits. Pure: nothing is read or written, so a refusal leaves no trace.
 */
export type PolicyError = Failure<'invalid_request' | 'amount_out_of_range'>;

/** A required field missing, or a blockchain address of no known format. */
export function checkOrderFields(channel: ChannelView, input: SubmitOrder): PolicyError | null {
  for (const field of channel.limits.required_fields)
    if (input[field] === undefined)
      return fail('invalid_request', `${field} is required on this channel's orders.`, { field });
  if (input.blockchain_address !== undefined) {
    const check = checkDestination('usdt', input.blockchain_address);
    if (!check.ok) return fail('invalid_request', check.message, { field: 'blockchain_address' });
  }
  return null;
}

/**
 * The order's amount in the currency of the channel's limits: the declared face value when that is
 * the card's currency, else the locked payout amount when it is the payout currency (a CNY card on a
 * channel paid in USDT is limited by the USDT it pays); undefined when it is neither.
 */
export function amountInLimitCurrency(
  channel: ChannelView,
  cardCurrency: string,
  declaredFaceValue: number,
  price: PriceRow,
): number | undefined {
  const currency = channel.limits.currency;
  if (currency === cardCurrency) return declaredFaceValue;
  if (currency === price.payout_currency) return price.payout_amount;
  return undefined;
}

/** The per-order limits: 422 amount_out_of_range naming declared_face_value, the amount it is judged by. */
export function checkOrderAmount(channel: ChannelView, amount: number | undefined): PolicyError | null {
  const { per_order_min: min, per_order_max: max, daily_amount_cap: cap, currency } = channel.limits;
  if (min === null && max === null && (cap === null || amount !== undefined)) return null;
  const field = 'declared_face_value';
  if (amount === undefined)
    return fail(
      'amount_out_of_range',
      `The channel's limits are in ${currency}, neither the card's currency nor the payout currency.`,
      { field },
    );
  if ((min !== null && amount < min) || (max !== null && amount > max))
    return fail(
      'amount_out_of_range',
      `This order is ${amount} ${currency} minor units; the channel takes orders of ${min ?? 0} to ${
        max ?? 'any'
      } ${currency} minor units.`,
      { field },
    );
  return null;
}
