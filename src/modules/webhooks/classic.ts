import { createHash, createHmac } from 'node:crypto';
import type { CallbackSignType } from '../channels/index.js';

/**
 * The classic notify format many card merchants' systems read (docs/webhooks.md#classic-notify-format):
 * form fields, and `sign` over the non-empty fields sorted by name as `k=v&…&key=SECRET`, the values
 * as they are (not URL-encoded). HMAC-SHA256 keyed with the secret, or MD5 of the string where an
 * admin chose it; upper-case hex either way.
 */
export type ClassicFields = Record<string, string>;

/** Fields never signed: the signatures themselves. */
const UNSIGNED = new Set(['sign', 'sign_previous']);

export function classicSigningString(fields: ClassicFields, secret: string): string {
  const pairs = Object.keys(fields)
    .filter((k) => !UNSIGNED.has(k) && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`);
  return `${[...pairs, `key=${secret}`].join('&')}`;
}

export function classicSign(fields: ClassicFields, secret: string, type: CallbackSignType): string {
  const text = classicSigningString(fields, secret);
  const digest =
    type === 'MD5'
      ? createHash('md5').update(text, 'utf8').digest('hex')
      : createHmac('sha256', secret).update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/**
 * The form body: fields, `sign_type`, `sign` by the newest secret and, during a rotation's overlap,
 * `sign_previous` by the one before it.
 */
export function classicBody(
  fields: ClassicFields,
  secrets: readonly string[],
  type: CallbackSignType,
): string {
  const withType: ClassicFields = { ...fields, sign_type: type };
  const form = new URLSearchParams(withType);
  const [current, previous] = secrets;
  if (current === undefined) throw new Error('a classic notify needs a secret');
  form.set('sign', classicSign(withType, current, type));
  if (previous !== undefined) form.set('sign_previous', classicSign(withType, previous, type));
  return form.toString();
}

interface OrderLike {
  id: string;
  merchant_order_id: string;
  status: string;
  card_type: string;
  card_number_masked: string;
  declared_face_value: number;
  actual_face_value: number | null;
  currency: string;
  reason: string | null;
  attach: string | null;
  price: { payout_amount: number; payout_currency: string } | null;
}

export interface ClassicEvent {
  id: string;
  type: string;
  subject_id: string;
  data: unknown;
}

/** An event as classic fields: an order event flattened; any other type carries its data as JSON. */
export function classicFields(event: ClassicEvent, timestampS: number): ClassicFields {
  const base: ClassicFields = {
    event_id: event.id,
    event_type: event.type,
    timestamp: String(timestampS),
  };
  const order = (event.data as { order?: OrderLike } | null)?.order;
  if (!order) return { ...base, subject_id: event.subject_id, data: JSON.stringify(event.data) };
  const text = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  return {
    ...base,
    order_id: order.id,
    merchant_order_id: order.merchant_order_id,
    status: order.status,
    card_type: order.card_type,
    card_number: order.card_number_masked,
    declared_face_value: text(order.declared_face_value),
    actual_face_value: text(order.actual_face_value),
    currency: order.currency,
    payout_amount: text(order.price?.payout_amount),
    payout_currency: text(order.price?.payout_currency),
    reason: text(order.reason),
    attach: text(order.attach),
  };
}
