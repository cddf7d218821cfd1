import { createHmac } from 'node:crypto';
import { safeEqual } from '../../shared/crypto.js';

/**
 * Standard Webhooks signatures (standardwebhooks.com): HMAC-SHA256 over `id.timestamp.body`, keyed
 * with the base64 part of a `whsec_` secret, sent as `v1,<base64>`. Channels verify our callbacks
 * with any Standard Webhooks library.
 */
export interface WebhookMessage {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

export function webhookSignature(secret: string, msg: WebhookMessage): string {
  const mac = createHmac('sha256', keyOf(secret))
    .update(`${msg.id}.${msg.timestamp}.${msg.body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** During a secret rotation's overlap `secrets` holds both: the header carries one signature each. */
export function webhookHeaders(
  secrets: string | readonly string[],
  msg: WebhookMessage,
): Record<string, string> {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return {
    'webhook-id': msg.id,
    'webhook-timestamp': String(msg.timestamp),
    'webhook-signature': list.map((s) => webhookSignature(s, msg)).join(' '),
  };
}

/** The receiving side's check (for tests and for channels written in TypeScript). */
export function verifyWebhook(secret: string, msg: WebhookMessage, signatureHeader: string): boolean {
  const expected = webhookSignature(secret, msg);
  return signatureHeader.split(' ').some((candidate) => safeEqual(candidate, expected));
}
