/**
 * The one port every SMS gateway sits behind (docs/sms.md). The risk engine sends step-up codes
 * through it. A message's text carries a code: it is never logged, and the phone number only masked
 * (`maskPhone`).
 *
 * `reference` is the idempotency key at the gateway: the same reference sent again is one message.
 */
export interface SmsMessage {
  /** E.164 without spaces, e.g. `+8613800138000` (a leading `+` is optional). */
  to: string;
  text: string;
  /** Unique per message we mean to send, e.g. the step-up challenge id. */
  reference: string;
}

/**
 * What the gateway said.
 * - `ok`: taken for delivery (not proof of delivery to the handset);
 * - not ok, `retryable`: no usable answer or the gateway's own trouble (timeout, reset, 5xx, 429,
 *   garbled answer); sending again with the same reference is safe;
 * - not ok, not retryable: the gateway refused the request (bad number, signature, template):
 *   sending again will not help.
 */
export type SmsResult =
  | { ok: true; messageId: string }
  | { ok: false; retryable: boolean; code: string; message: string };

export interface SmsSender {
  send(message: SmsMessage): Promise<SmsResult>;
}

/** `+8613800138000` → `*********8000`: what logs and errors may show of a number. */
export function maskPhone(to: string): string {
  const s = String(to);
  return s.length <= 4 ? '*'.repeat(s.length) : `${'*'.repeat(s.length - 4)}${s.slice(-4)}`;
}
