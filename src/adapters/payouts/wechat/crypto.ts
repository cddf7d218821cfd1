import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * WeChat Pay API v3 message formats, shared by the adapter and the simulator (docs/payouts.md#wechat).
 * Requests are signed RSA-SHA256 by the merchant over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`; answers
 * and notifications by the platform over `TIMESTAMP\nNONCE\nBODY\n`; notification resources are
 * AES-256-GCM encrypted with the 32-byte APIv3 key (ciphertext = base64(encrypted ‖ 16-byte tag)).
 */
export const WECHAT_AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
export const TRANSFER_PATH = '/v3/fund-app/mch-transfer/transfer-bills';
export const billPath = (outBillNo: string) =>
  `${TRANSFER_PATH}/out-bill-no/${encodeURIComponent(outBillNo)}`;

export const requestMessage = (method: string, url: string, timestamp: string, nonce: string, body: string) =>
  `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
export const answerMessage = (timestamp: string, nonce: string, body: string) =>
  `${timestamp}\n${nonce}\n${body}\n`;

export interface AuthorizationParts {
  mchid: string;
  nonce_str: string;
  signature: string;
  timestamp: string;
  serial_no: string;
}

export function authorizationHeader(p: AuthorizationParts): string {
  return `${WECHAT_AUTH_SCHEMA} mchid="${p.mchid}",nonce_str="${p.nonce_str}",signature="${p.signature}",timestamp="${p.timestamp}",serial_no="${p.serial_no}"`;
}

export function parseAuthorization(header: string): AuthorizationParts | undefined {
  if (!header.startsWith(`${WECHAT_AUTH_SCHEMA} `)) return undefined;
  const parts: Record<string, string> = {};
  for (const m of header.slice(WECHAT_AUTH_SCHEMA.length + 1).matchAll(/([a-z_]+)="([^"]*)"/g))
    if (m[1] && m[2] !== undefined) parts[m[1]] = m[2];
  const { mchid, nonce_str, signature, timestamp, serial_no } = parts;
  if (!mchid || !nonce_str || !signature || !timestamp || !serial_no) return undefined;
  return { mchid, nonce_str, signature, timestamp, serial_no };
}

const aesKey = (apiV3Key: string) => {
  const key = Buffer.from(apiV3Key, 'utf8');
  if (key.length !== 32) throw new RangeError('the APIv3 key must be 32 bytes');
  return key;
};

export function encryptResource(
  apiV3Key: string,
  plaintext: string,
  associatedData: string,
  nonce: string,
): string {
  const cipher = createCipheriv('aes-256-gcm', aesKey(apiV3Key), Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const out = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return out.toString('base64');
}

/** The plaintext, or undefined when the key, nonce, associated data or ciphertext do not fit. */
export function decryptResource(
  apiV3Key: string,
  ciphertext: string,
  associatedData: string,
  nonce: string,
): string | undefined {
  try {
    const data = Buffer.from(ciphertext, 'base64');
    if (data.length <= 16 || nonce.length === 0) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', aesKey(apiV3Key), Buffer.from(nonce, 'utf8'));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
