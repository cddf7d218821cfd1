import { randomBytesPooled } from './random.js';

/** Every id prefix the system hands out; ids are `<prefix>_<26 chars>`. */
export type IdPrefix =
  | 'bat'
  | 'ch'
  | 'ck'
  | 'job'
  | 'req'
  | 'cbt'
  | 'evt'
  | 'ord'
  | 'rev'
  | 'oev'
  | 'rdm'
  | 'quo'
  | 'prc'
  | 'rts'
  | 'rat'
  | 'adj'
  | 'fxr'
  | 'we'
  | 'whd'
  | 'ent'
  | 'dst'
  | 'po'
  | 'stb'
  | 'lck'
  | 'adm'
  | 'aud'
  | 'h5'
  | 'sla'
  | 'h5o'
  | 'rsk'
  | 'sar'
  | 'blk'
  | 'rev'
  | 'rng';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

let lastTime = -1;
let lastRandom: number[] = [];

/** Adds one to a base32 digit string (as digit values), most significant first. */
function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if ((next[i] as number) < 31) {
      next[i] = (next[i] as number) + 1;
      return next;
    }
    next[i] = 0;
  }
  return next; // 2^80 ids in one millisecond: wraps, never happens
}

/**
 * Time-ordered ids (48-bit millisecond time + 80 random bits, Crockford base32, ULID layout) so
 * that ids sort by creation and serve as pagination cursors; lower-case to read well in URLs.
 * Monotonic within a process: ids made in the same millisecond (or with a clock that went back)
 * keep their order, so two events written in one step sort as they were written.
 */
export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  let digits: number[];
  let time = nowMs;
  if (time <= lastTime) {
    time = lastTime;
    digits = increment(lastRandom);
  } else {
    digits = [];
    // 80 bits → 16 base32 digits, 5 bits at a time.
    let acc = 0;
    let bits = 0;
    for (const byte of randomBytesPooled(10)) {
      acc = (acc << 8) | byte;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        digits.push((acc >> bits) & 31);
      }
      acc &= (1 << bits) - 1;
    }
  }
  lastTime = time;
  lastRandom = digits;
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD.charAt(time % 32) + out;
    time = Math.floor(time / 32);
  }
  for (const d of digits) out += CROCKFORD.charAt(d);
  return `${prefix}_${out}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[0-9a-z]{26}$/.test(id.slice(prefix.length + 1));
}
