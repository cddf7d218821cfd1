import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto-v2';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSm2Signature,
  encodeSm2Signature,
  SM2_DEFAULT_ID,
  sm2FromSpkiDer,
  sm2PrivateKey,
  sm2PublicKeyBytes,
  sm2PublicKeyFromBytes,
  sm2PublicKeyOf,
  sm2Sign,
  sm2SpkiDer,
  sm2Verify,
  sm2VerifyDer,
  sm2Za,
} from './sm2.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const big = (h: string) => BigInt(`0x${h}`);

describe('SM2 signatures (GB/T 32918.2)', () => {
  // The worked example on the recommended curve (GB/T 32918.2-2016 annex; OpenSSL's SM2 test uses it too).
  const vector = {
    d: big('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8'),
    k: big('59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21'),
    x: '09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020',
    y: 'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
    za: 'b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3',
    r: big('F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3'),
    s: big('B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA'),
    message: Buffer.from('message digest'),
  };

  it("reproduces the standard's example: public key, Z_A, and (r, s) for the given k", () => {
    const p = sm2PublicKeyOf(vector.d);
    expect(hex(sm2PublicKeyBytes(p))).toBe(`04${vector.x}${vector.y}`);
    expect(hex(sm2Za(p))).toBe(vector.za);
    expect(sm2Sign(vector.d, vector.message, SM2_DEFAULT_ID, () => vector.k)).toEqual({
      r: vector.r,
      s: vector.s,
    });
    expect(sm2Verify(p, vector.message, { r: vector.r, s: vector.s })).toBe(true);
  });

  it('refuses a changed message, signature, key or user id, and r or s out of [1, n-1]', () => {
    const p = sm2PublicKeyOf(vector.d);
    const sig = { r: vector.r, s: vector.s };
    const n = big('FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
    expect(sm2Verify(p, Buffer.from('message digesT'), sig)).toBe(false);
    expect(sm2Verify(p, vector.message, { ...sig, r: sig.r + 1n })).toBe(false);
    expect(sm2Verify(p, vector.message, { ...sig, s: sig.s ^ 1n })).toBe(false);
    expect(sm2Verify(sm2PublicKeyOf(vector.d + 1n), vector.message, sig)).toBe(false);
    expect(sm2Verify(p, vector.message, sig, 'ALICE123@YAHOO.COM')).toBe(false);
    for (const bad of [0n, n, n + sig.r]) {
      expect(sm2Verify(p, vector.message, { ...sig, r: bad })).toBe(false);
      expect(sm2Verify(p, vector.message, { ...sig, s: bad })).toBe(false);
    }
    // t = r + s ≡ 0 (mod n) is refused by the standard's step B5.
    expect(sm2Verify(p, vector.message, { r: sig.r, s: n - sig.r })).toBe(false);
  });

  it('is not plain ECDSA: an ECDSA-style check of e = SM3(M) without Z_A fails', () => {
    const d = sm2PrivateKey();
    const sig = sm2Sign(d, vector.message, '');
    expect(sm2Verify(sm2PublicKeyOf(d), vector.message, sig, SM2_DEFAULT_ID)).toBe(false);
    expect(sm2Verify(sm2PublicKeyOf(d), vector.message, sig, '')).toBe(true);
  });

  it('encodes signatures as strict DER SEQUENCE{r, s}', () => {
    const der = encodeSm2Signature({ r: vector.r, s: vector.s });
    expect(der[0]).toBe(0x30);
    expect(decodeSm2Signature(der)).toEqual({ r: vector.r, s: vector.s });
    expect(decodeSm2Signature(Buffer.concat([der, Buffer.from([0])]))).toBeNull();
    expect(decodeSm2Signature(der.subarray(0, der.length - 1))).toBeNull();
    expect(decodeSm2Signature(Buffer.from('not der'))).toBeNull();
  });

  it('refuses points off the curve and the point at infinity', () => {
    const good = sm2PublicKeyBytes(sm2PublicKeyOf(vector.d));
    const off = Buffer.from(good);
    off[64] = (off[64] ?? 0) ^ 1;
    expect(() => sm2PublicKeyFromBytes(off)).toThrow(/not a point/);
    expect(() => sm2PublicKeyFromBytes(Buffer.from([0]))).toThrow();
    expect(() => sm2PublicKeyFromBytes(Buffer.alloc(65))).toThrow();
  });

  it('round-trips SubjectPublicKeyInfo', () => {
    const p = sm2PublicKeyOf(sm2PrivateKey());
    expect(sm2FromSpkiDer(sm2SpkiDer(p))?.equals(p)).toBe(true);
    expect(sm2FromSpkiDer(sm2SpkiDer(p).subarray(1))).toBeNull();
  });
});

describe('SM2 against sm-crypto-v2, an independent implementation', () => {
  const message = Buffer.from('1763800000\nn9Xk2LbQ7vR4tZ8wYc1D\nPOST\n/v1/orders\n{"a":"卡"}', 'utf8');
  // `hash: true` makes sm-crypto hash Z_A ‖ M with the default user id, as GB/T 32918.2 does.
  const opts = { hash: true, der: true } as const;

  it('verifies what sm-crypto-v2 signs', () => {
    for (let i = 0; i < 5; i++) {
      const kp = smCrypto.generateKeyPairHex();
      const sig = smCrypto.doSignature(new Uint8Array(message), kp.privateKey, opts);
      const p = sm2PublicKeyFromBytes(Buffer.from(kp.publicKey, 'hex'));
      expect(sm2VerifyDer(p, message, Buffer.from(sig, 'hex'))).toBe(true);
      expect(sm2VerifyDer(p, Buffer.concat([message, Buffer.from(' ')]), Buffer.from(sig, 'hex'))).toBe(
        false,
      );
    }
  });

  it('signs what sm-crypto-v2 verifies', () => {
    for (let i = 0; i < 5; i++) {
      const d = sm2PrivateKey();
      const pub = hex(sm2PublicKeyBytes(sm2PublicKeyOf(d)));
      const der = hex(encodeSm2Signature(sm2Sign(d, message)));
      expect(smCrypto.doVerifySignature(new Uint8Array(message), der, pub, opts)).toBe(true);
      expect(smCrypto.doVerifySignature(new Uint8Array(message.subarray(1)), der, pub, opts)).toBe(false);
    }
  });
});

describe('SM2 against the openssl command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recard-sm2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const file = (name: string) => join(dir, name);
  const message = Buffer.from('GET\n/v1/channel\n');
  writeFileSync(file('msg'), message);
  run(['genpkey', '-algorithm', 'SM2', '-out', file('key.pem')]);
  run(['pkey', '-in', file('key.pem'), '-pubout', '-outform', 'DER', '-out', file('pub.der')]);
  const opensslKey = sm2FromSpkiDer(readFileSync(file('pub.der')));
  const sign = ['-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', `distid:${SM2_DEFAULT_ID}`];

  it('reads the public key openssl writes', () => {
    expect(opensslKey).not.toBeNull();
  });

  it('verifies what openssl signs with the default distinguishing id', () => {
    run(['pkeyutl', ...sign, '-inkey', file('key.pem'), '-in', file('msg'), '-out', file('sig.der')]);
    const der = readFileSync(file('sig.der'));
    expect(opensslKey && sm2VerifyDer(opensslKey, message, der)).toBe(true);
    expect(opensslKey && sm2VerifyDer(opensslKey, Buffer.from('GET\n/v1/channel\n '), der)).toBe(false);
  });

  it('signs what openssl verifies', () => {
    const d = sm2PrivateKey();
    writeFileSync(file('ours.der'), sm2SpkiDer(sm2PublicKeyOf(d)));
    writeFileSync(file('ours.sig'), encodeSm2Signature(sm2Sign(d, message)));
    const out = run([
      'pkeyutl',
      '-verify',
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      `distid:${SM2_DEFAULT_ID}`,
      '-pubin',
      '-keyform',
      'DER',
      '-inkey',
      file('ours.der'),
      '-in',
      file('msg'),
      '-sigfile',
      file('ours.sig'),
    ]).toString();
    expect(out).toMatch(/Verified Successfully/);
  });
});
