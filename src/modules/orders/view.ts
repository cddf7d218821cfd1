import { rfc3339 } from '../../shared/clock.js';
import { maskFromLast4 } from '../cards/index.js';
import { orderPrice, type PriceRow } from '../pricing/index.js';
import type { OrderView } from './model.js';
import type { OrderRow } from './store.js';

/** The order as the API, events and callbacks show it: masked number, no secret, no card hash. */
export function orderView(row: OrderRow, price: PriceRow | undefined): OrderView {
  return {
    id: row.id,
    merchant_order_id: row.merchant_order_id,
    status: row.status,
    card_type: row.card_type,
    card_number_masked: maskFromLast4(row.card_last4, row.card_number_length),
    declared_face_value: row.declared_face_value,
    currency: row.currency,
    seller: { id: row.seller_id, name: row.seller_name },
    callback_url: row.callback_url,
    attach: row.attach,
    platform_order_id: row.platform_order_id,
    store_terminal_id: row.store_terminal_id,
    blockchain_address: row.blockchain_address,
    issuer: row.issuer,
    actual_face_value: row.actual_face_value,
    reason: row.reason,
    raw_code: row.raw_code,
    waiting_for: row.waiting_for === 'issuer_confirmation' ? 'issuer_confirmation' : null,
    verified_at: row.verified_at === null ? null : rfc3339(row.verified_at),
    price: price ? orderPrice(price) : null,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}
