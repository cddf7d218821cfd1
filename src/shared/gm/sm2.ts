import { randomBytes } from 'node:crypto';
import { DER, weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { sm3 } from './sm3.js';

/**
 * SM2 digital signatures as GB/T 32918.2 defines them (not ECDSA on the SM2 curve): the message is
 * prefixed with Z_A, a hash of the signer's identity and public key, and r, s are computed the SM2 way.
 * Curve arithmetic is @noble/curves'; the composition below follows the standard step by step
 * (decision 0027).
 */

/** The recommended curve sm2p256v1 (GB/T 32918.5). */
const CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
} as const;

export const Sm2Point = weierstrass(CURVE);
// A table of multiples of G: signing and the s·G half of verifying get several times faster.
Sm2Point.BASE.precompute(8);
/** A point of the curve (validated where it came from outside: sm2PublicKeyFromBytes). */
export type Sm2PublicKey = InstanceType<typeof Sm2Point>;
type Point = Sm2PublicKey;

/** The user id both sides use unless agreed otherwise (GB/T 35276 §5.4.3). */
export const SM2_DEFAULT_ID = '1234567812345678';

const N = CURVE.n;
const mod = (x: bigint, m = N) => ((x % m) + m) % m;
const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex');
const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);

/** The curve constants as the standard hashes them into every Z_A, encoded once. */
const CURVE_BYTES = Buffer.concat([be32(CURVE.a), be32(CURVE.b), be32(CURVE.Gx), be32(CURVE.Gy)]);

export class Sm2KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Sm2KeyError';
  }
}

/** A validated public key: a point of the curve, not the point at infinity. */
export function sm2PublicKeyFromBytes(bytes: Uint8Array): Point {
  let p: Point;
  try {
    p = Sm2Point.fromBytes(bytes);
    p.assertValidity();
  } catch {
    throw new Sm2KeyError('not a point of the SM2 curve');
  }
  if (p.is0()) throw new Sm2KeyError('the point at infinity is not a public key');
  return p;
}

/** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), ENTL the id's length in bits, two bytes big-endian. */
export function sm2Za(publicKey: Point, id: string = SM2_DEFAULT_ID): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const bits = idBytes.length * 8;
  if (bits > 0xffff) throw new Sm2KeyError('the user id is longer than 8191 bytes');
  const entl = Buffer.from([bits >> 8, bits & 0xff]);
  const a = publicKey.toAffine();
  return sm3(entl, idBytes, CURVE_BYTES, be32(a.x), be32(a.y));
}

/** e = SM3(Z_A ‖ M) as an integer. */
function digest(publicKey: Point, message: Uint8Array, id: string): bigint {
  return toBig(sm3(sm2Za(publicKey, id), message));
}

export interface Sm2Signature {
  r: bigint;
  s: bigint;
}

/** DER SEQUENCE { INTEGER r, INTEGER s } (GB/T 35276 §7.2); strict: trailing or non-minimal bytes fail. */
export function encodeSm2Signature(sig: Sm2Signature): Buffer {
  return Buffer.from(DER.hexFromSig(sig), 'hex');
}

export function decodeSm2Signature(der: Uint8Array): Sm2Signature | null {
  try {
    return DER.toSig(der);
  } catch {
    return null;
  }
}

/** Verifies (r, s) over `message` for the holder of `publicKey` with user id `id` (GB/T 32918.2 §7). */
export function sm2Verify(
  publicKey: Point,
  message: Uint8Array,
  signature: Sm2Signature,
  id: string = SM2_DEFAULT_ID,
): boolean {
  const { r, s } = signature;
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = mod(r + s);
  if (t === 0n) return false;
  const e = digest(publicKey, message, id);
  // s·G + t·P_A; the scalars and point are public, so the variable-time path is fine here.
  const sum = Sm2Point.BASE.mulAddUnsafe(s, publicKey, t);
  if (sum.is0()) return false;
  return mod(e + sum.toAffine().x) === r;
}

/** Verifies a DER-encoded signature; a malformed one is simply not valid. */
export function sm2VerifyDer(
  publicKey: Point,
  message: Uint8Array,
  der: Uint8Array,
  id: string = SM2_DEFAULT_ID,
): boolean {
  const sig = decodeSm2Signature(der);
  return sig !== null && sm2Verify(publicKey, message, sig, id);
}

/** A random private key d in [1, n−2] (d = n−1 has no inverse of 1+d). */
export function sm2PrivateKey(): bigint {
  for (;;) {
    const d = toBig(randomBytes(32));
    if (d >= 1n && d <= N - 2n) return d;
  }
}

export const sm2PublicKeyOf = (d: bigint): Point => Sm2Point.BASE.multiply(d);

/**
 * Signs (GB/T 32918.2 §6) with a fresh random k per signature. For the reference client and tests;
 * Recard itself only verifies. `nonce` exists only to reproduce the standard's worked example: a
 * fixed or guessable k gives the private key away.
 */
export function sm2Sign(
  d: bigint,
  message: Uint8Array,
  id: string = SM2_DEFAULT_ID,
  nonce: () => bigint = sm2PrivateKey,
): Sm2Signature {
  if (d < 1n || d > N - 2n) throw new Sm2KeyError('private key out of range');
  const e = digest(sm2PublicKeyOf(d), message, id);
  const inv = Sm2Point.Fn.inv(mod(1n + d));
  for (;;) {
    const k = nonce();
    const x1 = Sm2Point.BASE.multiply(k).toAffine().x;
    const r = mod(e + x1);
    if (r === 0n || r + k === N) continue;
    const s = mod(inv * mod(k - r * d));
    if (s !== 0n) return { r, s };
  }
}

/** Uncompressed SEC1 point, `04 ‖ x ‖ y`. */
export const sm2PublicKeyBytes = (p: Point): Buffer => Buffer.from(p.toBytes(false));

/** SubjectPublicKeyInfo prefix of an SM2 key: id-ecPublicKey, curve 1.2.156.10197.1.301, 65-byte point. */
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');

export function sm2SpkiDer(p: Point): Buffer {
  return Buffer.concat([SPKI_PREFIX, sm2PublicKeyBytes(p)]);
}

/** The key of an SM2 SPKI (DER), or null if the DER is not exactly an SM2 key. */
export function sm2FromSpkiDer(der: Uint8Array): Point | null {
  if (der.length !== SPKI_PREFIX.length + 65) return null;
  if (!SPKI_PREFIX.equals(Buffer.from(der.subarray(0, SPKI_PREFIX.length)))) return null;
  return sm2PublicKeyFromBytes(der.subarray(SPKI_PREFIX.length));
}
