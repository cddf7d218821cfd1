import { createHmac } from 'node:crypto';

/**
 * The request signing scheme of the channel API (docs/signing.md). Pure functions, no Recard
 * imports, so that a channel's engineers can copy this file or read it as the reference.
 */
export const SIGNING_HEADERS = {
  channel: 'x-recard-channel',
  timestamp: 'x-recard-timestamp',
  nonce: 'x-recard-nonce',
  signature: 'x-recard-signature',
  /** Optional: HMAC-SHA256 when absent; RSA-SHA256 and SM2-SM3 sign with a registered key. */
  signType: 'x-recard-sign-type',
  /** Optional: which registered key signed (ck_…), when several are active. */
  keyId: 'x-recard-key-id',
} as const;

export interface SignInput {
  /** Unix time in whole seconds. */
  timestamp: number;
  /** 16–64 characters of [A-Za-z0-9_-], never reused within the signature window. */
  nonce: string;
  method: string;
  /** Path and query exactly as sent on the request line, e.g. `/v1/orders?limit=10`. */
  pathWithQuery: string;
  /** The exact body bytes (empty for GET). */
  body: string | Uint8Array;
}

export function stringToSign(input: SignInput): Buffer {
  const head = `${input.timestamp}\n${input.nonce}\n${input.method.toUpperCase()}\n${input.pathWithQuery}\n`;
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

/** Lower-case hex HMAC-SHA256 of the string to sign, keyed with the channel secret (its UTF-8 bytes). */
export function sign(secret: string, input: SignInput): string {
  return createHmac('sha256', secret).update(stringToSign(input)).digest('hex');
}

/** The four headers for one request. */
export function signedHeaders(channelId: string, secret: string, input: SignInput): Record<string, string> {
  return {
    [SIGNING_HEADERS.channel]: channelId,
    [SIGNING_HEADERS.timestamp]: String(input.timestamp),
    [SIGNING_HEADERS.nonce]: input.nonce,
    [SIGNING_HEADERS.signature]: sign(secret, input),
  };
}
