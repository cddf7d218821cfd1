import { randomInt } from 'node:crypto';
import type { SubmitOrder } from '../../src/modules/orders/model.js';

let serial = 0;

/** A China Mobile national card order that passes every check; each call a new card and id. */
export function mobileOrder(extra: Partial<SubmitOrder> = {}): SubmitOrder {
  serial++;
  const number = `${Date.now() % 1_000_000}${String(serial).padStart(5, '0')}${randomInt(1_000_000)}`
    .padStart(17, '0')
    .slice(-17);
  return {
    merchant_order_id: `mo-${serial}-${randomInt(1_000_000_000)}`,
    card_type: 'cmcc_national',
    card_number: number,
    card_secret: String(randomInt(1e9)).padStart(9, '0') + String(randomInt(1e9)).padStart(9, '0'),
    declared_face_value: 10_000,
    seller: { id: 'seller-1', name: 'Li Lei' },
    ...extra,
  };
}
