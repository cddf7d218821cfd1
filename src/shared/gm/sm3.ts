import { createHash, createHmac, hkdfSync } from 'node:crypto';

/**
 * SM3 (GB/T 32905) and the constructions built on it, from Node's OpenSSL 3: nothing here is
 * implemented by hand, only named.
 */
export function sm3(...parts: Uint8Array[]): Buffer {
  const h = createHash('sm3');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HMAC-SM3 (RFC 2104 over SM3, as GB/T 15852.2 uses it). */
export function hmacSm3(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sm3', key).update(data).digest();
}

/** HKDF (RFC 5869) with SM3: separate keys for separate jobs from one configured key. */
export function hkdfSm3(key: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sm3', key, salt, info, length));
}
