import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { randomBytesPooled } from './random.js';

/** A named 256-bit key; the id travels with every ciphertext so keys can rotate. */
export interface SymmetricKey {
  id: string;
  key: Buffer;
}

/** Keys in use: `active` seals, every key in `all` (active included) can open. */
export interface Keyring {
  active: SymmetricKey;
  all: ReadonlyMap<string, SymmetricKey>;
}

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const FORMAT = 'v1';

export function makeKeyring(active: SymmetricKey, older: SymmetricKey[] = []): Keyring {
  const all = new Map<string, SymmetricKey>();
  for (const k of [active, ...older]) {
    if (k.key.length !== 32) throw new Error(`key ${k.id} must be 32 bytes, got ${k.key.length}`);
    all.set(k.id, k);
  }
  return { active, all };
}

/** A key id derived from the key itself, so configuration need not carry ids separately. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * AES-256-GCM: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts). `context` is bound as
 * additional authenticated data, so a ciphertext moved to another row fails to open.
 */
export function seal(keyring: Keyring, plaintext: string, context: string): string {
  const { id, key } = keyring.active;
  const iv = randomBytesPooled(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [FORMAT, id, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join(
    '.',
  );
}

export function open(keyring: Keyring, sealed: string, context: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== FORMAT)
    throw new DecryptionError('ciphertext is not in the v1 format');
  const [, keyId, ivB64, ctB64, tagB64] = parts as [string, string, string, string, string];
  const entry = keyring.all.get(keyId);
  if (!entry) throw new DecryptionError(`ciphertext was sealed with key ${keyId}, which is not configured`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(ivB64, 'base64url'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tagB64, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ctB64, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new DecryptionError('ciphertext or tag was altered, or the key does not match');
  }
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
