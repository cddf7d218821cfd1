import { hmacSha256 } from './crypto.js';
import { hmacSm3 } from './gm/sm3.js';

export { hmacSm3 } from './gm/sm3.js';

/**
 * The algorithm families Recard uses for its own secrets (RECARD_CRYPTO_SUITE, docs/crypto-suites.md):
 * `standard` (AES-GCM, HMAC-SHA256) or `gm`, the Chinese commercial cryptography (商用密码) suite
 * (SM4, SM3, SM2). Built once from the configuration in src/main/context.ts and handed to whoever
 * needs it, never read from a global.
 */
export type CryptoSuiteName = 'standard' | 'gm';

export const CRYPTO_SUITES: readonly CryptoSuiteName[] = ['standard', 'gm'];

/** How a channel may sign its API calls (docs/signing.md). */
export type RequestSignatureScheme = 'HMAC-SHA256' | 'HMAC-SM3' | 'RSA-SHA256' | 'SM2-SM3';

export type KeyedHash = (key: Buffer, text: string) => string;

export interface CryptoSuite {
  name: CryptoSuiteName;
  /** The keyed hash (lower-case hex) new values are stored with. */
  keyedHash: KeyedHash;
  /**
   * Every keyed hash a stored value may carry, this suite's first: data written under the other
   * suite is still found (duplicate cards, idempotent replays) after a switch, in either direction.
   */
  keyedHashes: readonly KeyedHash[];
  /** The request signature schemes the channel authenticator accepts under this suite. */
  requestSignatures: readonly RequestSignatureScheme[];
}

const sha256Hash: KeyedHash = (key, text) => hmacSha256(key, text).toString('hex');
const sm3Hash: KeyedHash = (key, text) => hmacSm3(key, text).toString('hex');

const SUITES: Record<CryptoSuiteName, CryptoSuite> = {
  standard: {
    name: 'standard',
    keyedHash: sha256Hash,
    keyedHashes: [sha256Hash, sm3Hash],
    requestSignatures: ['HMAC-SHA256', 'RSA-SHA256', 'SM2-SM3'],
  },
  gm: {
    name: 'gm',
    keyedHash: sm3Hash,
    keyedHashes: [sm3Hash, sha256Hash],
    requestSignatures: ['SM2-SM3', 'HMAC-SM3'],
  },
};

export function cryptoSuite(name: CryptoSuiteName): CryptoSuite {
  return SUITES[name];
}
