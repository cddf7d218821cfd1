import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { hkdfSm3, hmacSm3 } from './gm/sm3.js';
import { randomBytesPooled } from './random.js';

/** A named 256-bit key; the id travels with every ciphertext so keys can rotate. */
export interface SymmetricKey {
  id: string;
  key: Buffer;
}

/**
 * How `seal` encrypts: `standard` AES-256-GCM (`v1.`), `gm` SM4-CTR with HMAC-SM3 (`v2.`).
 * `open` reads both whatever the suite (docs/crypto-suites.md).
 */
export type SealSuite = 'standard' | 'gm';

/** Keys in use: `active` seals, every key in `all` (active included) can open. */
export interface Keyring {
  active: SymmetricKey;
  all: ReadonlyMap<string, SymmetricKey>;
  /** The cipher new ciphertexts are sealed with. */
  suite: SealSuite;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const V1 = 'v1';
const V2 = 'v2';

export function makeKeyring(
  active: SymmetricKey,
  older: SymmetricKey[] = [],
  suite: SealSuite = 'standard',
): Keyring {
  const all = new Map<string, SymmetricKey>();
  for (const k of [active, ...older]) {
    if (k.key.length !== 32) throw new Error(`key ${k.id} must be 32 bytes, got ${k.key.length}`);
    all.set(k.id, k);
  }
  return { active, all, suite };
}

/** A key id derived from the key itself, so configuration need not carry ids separately. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * Encrypts `plaintext` under the keyring's active key, bound to `context` (a ciphertext moved to
 * another row fails to open). Parts are base64url, joined by dots:
 * - standard: `v1.<key id>.<iv>.<ciphertext>.<tag>`, AES-256-GCM with `context` as additional data;
 * - gm: `v2.<key id>.<iv>.<ciphertext>.<mac>`, SM4-CTR then HMAC-SM3 over version, key id, iv,
 *   ciphertext and context (encrypt-then-MAC: Node has no SM4-GCM), keys derived by HKDF-SM3.
 */
export function seal(keyring: Keyring, plaintext: string, context: string): string {
  return keyring.suite === 'gm'
    ? sealV2(keyring.active, plaintext, context)
    : sealV1(keyring.active, plaintext, context);
}

/** Reads either format by its prefix, whatever the keyring's suite: data outlives a suite switch. */
export function open(keyring: Keyring, sealed: string, context: string): string {
  const parts = sealed.split('.');
  const version = parts[0];
  if (parts.length !== 5 || (version !== V1 && version !== V2))
    throw new DecryptionError('ciphertext is not in the v1 or v2 format');
  const [, keyId, iv, ct, tag] = parts as [string, string, string, string, string];
  const entry = keyring.all.get(keyId);
  if (!entry) throw new DecryptionError(`ciphertext was sealed with key ${keyId}, which is not configured`);
  const bytes = (b64: string) => Buffer.from(b64, 'base64url');
  return version === V1
    ? openV1(entry, bytes(iv), bytes(ct), bytes(tag), context)
    : openV2(entry, bytes(iv), bytes(ct), bytes(tag), context);
}

const join = (...parts: (string | Buffer)[]) =>
  parts.map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');

function sealV1({ id, key }: SymmetricKey, plaintext: string, context: string): string {
  const iv = randomBytesPooled(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return join(V1, id, iv, ct, cipher.getAuthTag());
}

function openV1(entry: SymmetricKey, iv: Buffer, ct: Buffer, tag: Buffer, context: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', entry.key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw new DecryptionError('ciphertext or tag was altered, or the key does not match');
  }
}

interface Sm4Keys {
  enc: Buffer;
  mac: Buffer;
}

// Keyring keys live as long as the process; a card's data key is used once and collected with its ring.
const derived = new WeakMap<Buffer, Sm4Keys>();

/** Separate SM4 and MAC keys from one 32-byte key (HKDF-SM3, fixed labels, no salt: the key is random). */
function sm4Keys(key: Buffer): Sm4Keys {
  let keys = derived.get(key);
  if (!keys) {
    const salt = Buffer.alloc(0);
    keys = {
      enc: hkdfSm3(key, salt, 'recard seal v2 sm4-ctr', 16),
      mac: hkdfSm3(key, salt, 'recard seal v2 hmac-sm3', 32),
    };
    derived.set(key, keys);
  }
  return keys;
}

/** What the MAC covers, unambiguously: fixed-size or length-prefixed fields, then the context. */
function macInput(keyId: string, iv: Buffer, ct: Buffer, context: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const lengths = Buffer.alloc(6);
  lengths.writeUInt16BE(id.length, 0);
  lengths.writeUInt32BE(ct.length, 2);
  return Buffer.concat([Buffer.from(V2), lengths, id, iv, ct, Buffer.from(context, 'utf8')]);
}

function sealV2({ id, key }: SymmetricKey, plaintext: string, context: string): string {
  const { enc, mac } = sm4Keys(key);
  const iv = randomBytesPooled(16);
  const cipher = createCipheriv('sm4-ctr', enc, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return join(V2, id, iv, ct, hmacSm3(mac, macInput(id, iv, ct, context)));
}

function openV2(entry: SymmetricKey, iv: Buffer, ct: Buffer, tag: Buffer, context: string): string {
  const { enc, mac } = sm4Keys(entry.key);
  const expected = hmacSm3(mac, macInput(entry.id, iv, ct, context));
  // The MAC is checked, in constant time, before anything is decrypted.
  if (iv.length !== 16 || tag.length !== expected.length || !timingSafeEqual(tag, expected))
    throw new DecryptionError('ciphertext or tag was altered, or the key does not match');
  const decipher = createDecipheriv('sm4-ctr', enc, iv);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

export function hmacSha256(key: string | Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Constant-time comparison of two strings of possibly different length. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) return false;
  return timingSafeEqual(ab, bb);
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
