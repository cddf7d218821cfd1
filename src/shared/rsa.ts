import { constants, createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

/** Below this a registered RSA key is refused (NIST SP 800-57: 2048 bits until 2030). */
export const RSA_MIN_BITS = 2048;
/**
 * Above this a key is refused too: every verification's cost grows with the modulus and the public
 * exponent, and a channel's keys are tried for callers who have not proven anything yet.
 */
export const RSA_MAX_BITS = 4096;
/** The one public exponent accepted (F4, what every tool makes): a huge one makes verification slow. */
export const RSA_EXPONENT = 65537n;

export interface RsaPublicKey {
  key: KeyObject;
  bits: number;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex. */
  fingerprint: string;
  /** The key as PEM SPKI, whatever form it was registered in. */
  pem: string;
}

export type RsaKeyProblem = 'not_rsa' | 'too_short' | 'too_long' | 'bad_exponent' | 'unreadable';

/**
 * A registered RSA public key, PEM SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
 * RSA-PSS-only keys are refused: the scheme is PKCS#1 v1.5.
 */
export function parseRsaPublicKey(pem: string): RsaPublicKey | RsaKeyProblem {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return 'unreadable';
  }
  if (key.asymmetricKeyType !== 'rsa') return 'not_rsa';
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_MIN_BITS) return 'too_short';
  if (bits > RSA_MAX_BITS) return 'too_long';
  if (key.asymmetricKeyDetails?.publicExponent !== RSA_EXPONENT) return 'bad_exponent';
  const der = key.export({ type: 'spki', format: 'der' });
  return {
    key,
    bits,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    pem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** RSA-SHA256 with PKCS#1 v1.5 padding; the signature must be exactly the modulus long. */
export function rsaVerify(key: RsaPublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== Math.ceil(key.bits / 8)) return false;
  try {
    return verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
}
