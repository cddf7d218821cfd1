import { randomInt } from 'node:crypto';
import type { OrderStatus } from '../../src/modules/orders/index.js';
import type { SubmitOrder } from '../../src/modules/orders/model.js';
import type { Db } from '../../src/storage/database.js';

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

/** How many orders have one of the statuses `in`, or none of `notIn`. */
export async function countOrders(
  db: Db,
  where: { in: readonly OrderStatus[] } | { notIn: readonly OrderStatus[] },
): Promise<number> {
  const row = await db
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('status', 'in' in where ? 'in' : 'not in', 'in' in where ? where.in : where.notIn)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
