import { createHash, createHmac } from 'node:crypto';

/** The string both sides sign: method, path, timestamp, nonce and the body's SHA-256. */
export function ecardSigningString(
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`;
}
export function ecardSignature(secret: string, signingString: string): string {
  return createHmac('sha256', secret).update(signingString).digest('hex');
}
