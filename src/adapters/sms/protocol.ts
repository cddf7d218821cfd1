import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The SMS gateway's JSON API (docs/sms.md), shared by the adapter and the simulator. Modelled on the
 * Chinese template gateways (Aliyun SMS, Tencent Cloud SMS): the caller names an approved template and
 * its parameters, never free text, and signs every request.
 *
 * `POST /v1/sms/send` with `{"to","template_code","template_params":{…},"reference"}` and headers
 * `X-Sms-Key-Id`, `X-Sms-Timestamp` (Unix seconds), `X-Sms-Signature` = base64 HMAC-SHA256 of
 * `<key id>\n<timestamp>\n<raw body>` under the key secret.
 * 200 `{"code":"OK","message_id"}`; an error is `{"code","message"}` with a 4xx or 5xx status.
 */
export const SMS_SEND_PATH = '/v1/sms/send';
export const SMS_HEADERS = {
  keyId: 'x-sms-key-id',
  timestamp: 'x-sms-timestamp',
  signature: 'x-sms-signature',
} as const;

/** The one template Recard uses: a verification notice whose only parameter is the whole text. */
export const SMS_STEP_UP_TEMPLATE = 'RECARD_STEP_UP';

export const SMS_CODES = {
  ok: 'OK',
  signatureInvalid: 'SIGNATURE_INVALID',
  timestampSkewed: 'TIMESTAMP_SKEWED',
  keyUnknown: 'KEY_UNKNOWN',
  invalidRequest: 'INVALID_REQUEST',
  invalidPhone: 'INVALID_PHONE',
  templateUnknown: 'TEMPLATE_UNKNOWN',
  referenceConflict: 'REFERENCE_CONFLICT',
  throttled: 'THROTTLED',
  internal: 'INTERNAL_ERROR',
} as const;

export const SMS_MAX_SKEW_S = 300;
export const PHONE = /^\+?[1-9]\d{5,14}$/;

export function smsSignature(secret: string, keyId: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${keyId}\n${timestamp}\n${body}`).digest('base64');
}

export function smsSignatureValid(
  secret: string,
  keyId: string,
  timestamp: string,
  body: string,
  signature: string,
): boolean {
  const want = Buffer.from(smsSignature(secret, keyId, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}
