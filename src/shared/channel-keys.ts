import { createHash } from 'node:crypto';
import {
  Sm2KeyError,
  type Sm2PublicKey,
  sm2FromSpkiDer,
  sm2PublicKeyBytes,
  sm2PublicKeyFromBytes,
  sm2SpkiDer,
  sm2VerifyDer,
} from './gm/sm2.js';
import { fail, ok, type Result } from './result.js';
import { parseRsaPublicKey, RSA_MAX_BITS, RSA_MIN_BITS, type RsaPublicKey, rsaVerify } from './rsa.js';
import type { SignaturePool } from './signature-pool.js';

/**
 * Public keys channels register to sign API calls with, and the check of such a signature over the
 * string to sign (docs/signing.md, docs/crypto-suites.md). The wire form of a signature is base64
 * (standard alphabet, padded) of: the raw RSA signature (as long as the modulus), or the DER
 * SEQUENCE{r, s} of an SM2 signature made with the default user id.
 */
export type ChannelKeyAlgorithm = 'RSA-SHA256' | 'SM2-SM3';

export interface ChannelPublicKey {
  algorithm: ChannelKeyAlgorithm;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex: the same key always gets the same one. */
  fingerprint: string;
  /** RSA only: the modulus length. */
  bits?: number;
  /** PEM SubjectPublicKeyInfo: what to store, whatever form was registered. */
  normalisedPem: string;
  /** The parsed key, for verification. */
  readonly material: { kind: 'rsa'; key: RsaPublicKey } | { kind: 'sm2'; point: Sm2PublicKey; bytes: Buffer };
}

const PEM = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----\s*$/;
const SM2_HEX = /^(04[0-9a-fA-F]{128}|0[23][0-9a-fA-F]{64})$/;
const FIELD = 'public_key';

const invalid = (message: string) => fail('public_key_invalid', message, { field: FIELD });

const pemOf = (label: string, der: Uint8Array) =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

function sm2Key(point: Sm2PublicKey): ChannelPublicKey {
  const der = sm2SpkiDer(point);
  return {
    algorithm: 'SM2-SM3',
    fingerprint: createHash('sha256').update(der).digest('hex'),
    normalisedPem: pemOf('PUBLIC KEY', der),
    material: { kind: 'sm2', point, bytes: sm2PublicKeyBytes(point) },
  };
}

/**
 * A key as a channel hands it in: PEM SPKI (RSA or SM2, as `openssl pkey -pubout` writes it), PEM
 * PKCS#1 (`BEGIN RSA PUBLIC KEY`), or an SM2 point in hex (`04…`, as sm-crypto prints it). RSA
 * below 2048 bits, points off the curve, private keys and certificates are refused.
 */
export function parseChannelPublicKey(text: string): Result<ChannelPublicKey, 'public_key_invalid'> {
  const trimmed = text.trim();
  if (trimmed.length > 16_384) return invalid('The public key is too long.');
  if (SM2_HEX.test(trimmed)) {
    try {
      return ok(sm2Key(sm2PublicKeyFromBytes(Buffer.from(trimmed, 'hex'))));
    } catch (err) {
      if (err instanceof Sm2KeyError)
        return invalid('The hex SM2 public key is not a point of the SM2 curve.');
      throw err;
    }
  }
  const pem = PEM.exec(trimmed);
  if (!pem) {
    return invalid(
      'Give a PEM public key (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY) or an SM2 point in hex (04…).',
    );
  }
  const label = pem[1] ?? '';
  if (label.includes('PRIVATE'))
    return invalid('This is a private key: register the public key only, and keep the private key secret.');
  if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY')
    return invalid(`A "${label}" is not accepted; give the public key (BEGIN PUBLIC KEY).`);
  if (label === 'PUBLIC KEY') {
    const der = Buffer.from((pem[2] ?? '').replace(/\s+/g, ''), 'base64');
    try {
      const point = sm2FromSpkiDer(der);
      if (point) return ok(sm2Key(point));
    } catch (err) {
      if (err instanceof Sm2KeyError) return invalid('The SM2 public key is not a point of the SM2 curve.');
      throw err;
    }
  }
  const rsa = parseRsaPublicKey(trimmed);
  if (rsa === 'too_short') return invalid(`RSA keys must have at least ${RSA_MIN_BITS} bits.`);
  if (rsa === 'too_long') return invalid(`RSA keys may have at most ${RSA_MAX_BITS} bits.`);
  if (rsa === 'bad_exponent') return invalid('RSA keys must have the public exponent 65537.');
  if (rsa === 'not_rsa') return invalid('Only RSA and SM2 (curve sm2p256v1) public keys are accepted.');
  if (rsa === 'unreadable') return invalid('The PEM public key cannot be read.');
  return ok({
    algorithm: 'RSA-SHA256',
    fingerprint: rsa.fingerprint,
    bits: rsa.bits,
    normalisedPem: rsa.pem,
    material: { kind: 'rsa', key: rsa },
  });
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Base64 of at most 1 KiB of signature (RSA-8192 is 1,024 bytes); anything else is not a signature. */
function signatureBytes(b64: string): Buffer | null {
  if (b64.length > 1400 || b64.length % 4 !== 0 || !BASE64.test(b64)) return null;
  return Buffer.from(b64, 'base64');
}

/**
 * Whether `signatureB64` is the key holder's signature of `message`. Never throws for a bad signature;
 * SM2 runs on `pool` when given (its promise rejects only if the pool is closed or its queue is full).
 */
export function verifyChannelSignature(
  key: ChannelPublicKey,
  message: Buffer,
  signatureB64: string,
  pool?: SignaturePool,
): Promise<boolean> {
  const sig = signatureBytes(signatureB64);
  if (!sig) return Promise.resolve(false);
  const m = key.material;
  if (m.kind === 'rsa') return Promise.resolve(rsaVerify(m.key, message, sig));
  if (pool) return pool.verifySm2({ point: m.bytes, message, der: sig });
  return Promise.resolve(sm2VerifyDer(m.point, message, sig));
}
