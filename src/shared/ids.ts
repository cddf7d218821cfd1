import { randomBytes } from 'node:crypto';

/** Every id prefix the system hands out; ids are `<prefix>_<26 chars>`. */
export type IdPrefix = 'ch' | 'job' | 'req' | 'cbt' | 'evt' | 'ord' | 'oev' | 'rdm';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered ids (48-bit millisecond time + 80 random bits, Crockford base32, ULID layout) so
 * that ids sort by creation and serve as pagination cursors; lower-case to read well in URLs.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let out = '';
  let time = nowMs;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD.charAt(time % 32) + out;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  // 80 bits → 16 base32 characters, 5 bits at a time.
  let acc = 0;
  let bits = 0;
  for (const byte of random) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD.charAt((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  return `${prefix}_${out}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[0-9a-z]{26}$/.test(id.slice(prefix.length + 1));
}
