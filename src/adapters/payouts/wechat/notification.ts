import { isRecord, parseJson } from '../http.js';
import type { PayoutState } from '../port.js';
import { rsaVerify } from '../rsa.js';
import { answerMessage, decryptResource } from './crypto.js';
import { wechatBillState } from './states.js';

export const WECHAT_TRANSFER_EVENT = 'MCHTRANSFER.BILL.FINISHED';

export interface NotificationKeys {
  platformPublicKey: string;
  apiV3Key: string;
  /** How far the notification's timestamp may be from now, in seconds (replays are refused). */
  maxSkewS: number;
  /** When given, the Wechatpay-Serial header must name this platform key. */
  platformSerialNo?: string;
  /** Now in ms; for tests. */
  now?: number;
}

export type NotificationCheck =
  | {
      ok: true;
      payoutId: string;
      state: PayoutState;
      providerRef?: string;
      eventId: string;
      rawState: string;
    }
  | {
      ok: false;
      code:
        | 'missing_headers'
        | 'unknown_serial'
        | 'bad_signature'
        | 'stale_timestamp'
        | 'malformed'
        | 'unexpected_event'
        | 'bad_ciphertext';
    };

type Headers = Record<string, string | string[] | undefined>;
const one = (h: Headers, name: string) => {
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === 'string' ? v : '';
};

/**
 * Checks one transfer notification as received (headers, the raw body bytes as text) and opens it.
 * Pure: no I/O, no clock unless `now` is absent. A duplicate passes again with the same `eventId`;
 * acting on it twice is the caller's to avoid (the payout's state only moves forward).
 */
export function verifyNotification(
  headers: Headers,
  rawBody: string,
  keys: NotificationKeys,
): NotificationCheck {
  const timestamp = one(headers, 'wechatpay-timestamp');
  const nonce = one(headers, 'wechatpay-nonce');
  const signature = one(headers, 'wechatpay-signature');
  const serial = one(headers, 'wechatpay-serial');
  if (!timestamp || !nonce || !signature || !serial) return { ok: false, code: 'missing_headers' };
  if (keys.platformSerialNo !== undefined && serial !== keys.platformSerialNo)
    return { ok: false, code: 'unknown_serial' };
  if (!rsaVerify(keys.platformPublicKey, answerMessage(timestamp, nonce, rawBody), signature))
    return { ok: false, code: 'bad_signature' };
  const now = keys.now ?? Date.now();
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > keys.maxSkewS)
    return { ok: false, code: 'stale_timestamp' };
  const body = parseJson(rawBody);
  if (!isRecord(body) || typeof body.id !== 'string' || !isRecord(body.resource))
    return { ok: false, code: 'malformed' };
  if (body.event_type !== WECHAT_TRANSFER_EVENT) return { ok: false, code: 'unexpected_event' };
  const r = body.resource;
  if (
    r.algorithm !== 'AEAD_AES_256_GCM' ||
    typeof r.ciphertext !== 'string' ||
    typeof r.nonce !== 'string' ||
    typeof (r.associated_data ?? '') !== 'string'
  )
    return { ok: false, code: 'malformed' };
  const plain = decryptResource(keys.apiV3Key, r.ciphertext, String(r.associated_data ?? ''), r.nonce);
  if (plain === undefined) return { ok: false, code: 'bad_ciphertext' };
  const bill = parseJson(plain);
  if (!isRecord(bill) || typeof bill.out_bill_no !== 'string' || typeof bill.state !== 'string')
    return { ok: false, code: 'malformed' };
  return {
    ok: true,
    payoutId: bill.out_bill_no,
    state: wechatBillState(bill.state),
    ...(typeof bill.transfer_bill_no === 'string' ? { providerRef: bill.transfer_bill_no } : {}),
    eventId: body.id,
    rawState: bill.state,
  };
}
