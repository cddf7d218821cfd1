import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cryptoSuite, hmacSm3 } from './suite.js';

describe('crypto suites', () => {
  const key = Buffer.alloc(32, 7);

  it('standard stores HMAC-SHA256, gm HMAC-SM3, and each also knows the other', () => {
    const standard = cryptoSuite('standard');
    const gm = cryptoSuite('gm');
    const sha = createHmac('sha256', key).update('mobile:123').digest('hex');
    const sm3 = createHmac('sm3', key).update('mobile:123').digest('hex');
    expect(standard.keyedHash(key, 'mobile:123')).toBe(sha);
    expect(gm.keyedHash(key, 'mobile:123')).toBe(sm3);
    expect(sm3).not.toBe(sha);
    expect(standard.keyedHashes.map((h) => h(key, 'mobile:123'))).toEqual([sha, sm3]);
    expect(gm.keyedHashes.map((h) => h(key, 'mobile:123'))).toEqual([sm3, sha]);
  });

  it('names the request signatures each accepts', () => {
    expect(cryptoSuite('standard').requestSignatures).toEqual(['HMAC-SHA256', 'RSA-SHA256', 'SM2-SM3']);
    expect(cryptoSuite('gm').requestSignatures).toEqual(['SM2-SM3', 'HMAC-SM3']);
  });

  it('hmacSm3 is RFC 2104 HMAC over SM3 (known answer)', () => {
    // HMAC-SM3 of "abc" under the 32-byte key 0x00..0x1f, computed independently with
    // `printf abc | openssl dgst -sm3 -mac HMAC -macopt hexkey:000102…1f`.
    const k = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(hmacSm3(k, 'abc').toString('hex')).toBe(OPENSSL_HMAC_SM3_ABC);
  });
});

const OPENSSL_HMAC_SM3_ABC = 'a8f95cf26f204957e7ca73c9602a25dda35f168b28103b51dfc968c810416b63';
