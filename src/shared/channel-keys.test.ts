import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto-v2';
import { afterAll, describe, expect, it } from 'vitest';
import { stringToSign } from '../client/signing.js';
import { type ChannelPublicKey, parseChannelPublicKey, verifyChannelSignature } from './channel-keys.js';
import { encodeSm2Signature, sm2PrivateKey, sm2PublicKeyBytes, sm2PublicKeyOf, sm2Sign } from './gm/sm2.js';
import { createSignaturePool } from './signature-pool.js';

const dir = mkdtempSync(join(tmpdir(), 'recard-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

const message = stringToSign({
  timestamp: 1763800000,
  nonce: 'n9Xk2LbQ7vR4tZ8wYc1D',
  method: 'POST',
  pathWithQuery: '/v1/callback-tests',
  body: '{"url":"https://merchant.example/recard/callback"}',
});
writeFileSync(file('msg'), message);

const parsed = (text: string): ChannelPublicKey => {
  const r = parseChannelPublicKey(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const refusal = (text: string) => {
  const r = parseChannelPublicKey(text);
  expect(r.ok).toBe(false);
  return r.ok ? '' : `${r.code}: ${r.message}`;
};

describe('RSA-SHA256 keys and signatures, made by the openssl command line', () => {
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('rsa.pem'));
  openssl('pkey', '-in', file('rsa.pem'), '-pubout', '-out', file('rsa.pub'));
  openssl('rsa', '-in', file('rsa.pem'), '-RSAPublicKey_out', '-out', file('rsa1.pub'));
  openssl('dgst', '-sha256', '-sign', file('rsa.pem'), '-out', file('rsa.sig'), file('msg'));
  const signature = readFileSync(file('rsa.sig')).toString('base64');
  const spki = readFileSync(file('rsa.pub'), 'utf8');

  it('reads SPKI and PKCS#1 PEM as the same key, with the SHA-256 fingerprint of the DER SPKI', () => {
    const a = parsed(spki);
    const b = parsed(readFileSync(file('rsa1.pub'), 'utf8'));
    expect(a.algorithm).toBe('RSA-SHA256');
    expect(a.bits).toBe(2048);
    const der = openssl('pkey', '-in', file('rsa.pem'), '-pubout', '-outform', 'DER');
    expect(a.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(b.normalisedPem).toBe(a.normalisedPem);
    expect(a.normalisedPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it("verifies openssl's signature and refuses any change", async () => {
    const key = parsed(spki);
    expect(await verifyChannelSignature(key, message, signature)).toBe(true);
    expect(await verifyChannelSignature(key, Buffer.concat([message, Buffer.from('x')]), signature)).toBe(
      false,
    );
    const flipped = Buffer.from(signature, 'base64');
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(await verifyChannelSignature(key, message, flipped.toString('base64'))).toBe(false);
    expect(await verifyChannelSignature(key, message, signature.slice(4))).toBe(false);
    expect(await verifyChannelSignature(key, message, 'not base64!')).toBe(false);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(await verifyChannelSignature(parsed(other.toString()), message, signature)).toBe(false);
  });

  it('refuses RSA keys under 2048 bits, private keys and other algorithms', () => {
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', file('short.pem'));
    const short = openssl('pkey', '-in', file('short.pem'), '-pubout').toString();
    expect(refusal(short)).toMatch(/public_key_invalid: RSA keys must have at least 2048 bits/);
    expect(refusal(readFileSync(file('rsa.pem'), 'utf8'))).toMatch(/private key/);
    const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(refusal(ed)).toMatch(/Only RSA and SM2/);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(refusal(p256.toString())).toMatch(/Only RSA and SM2/);
    expect(refusal('hello')).toMatch(/PEM public key/);
    expect(refusal('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toMatch(/CERTIFICATE/);
  });
});

describe('SM2-SM3 keys and signatures', () => {
  openssl('genpkey', '-algorithm', 'SM2', '-out', file('sm2.pem'));
  openssl('pkey', '-in', file('sm2.pem'), '-pubout', '-out', file('sm2.pub'));
  openssl(
    'pkeyutl',
    '-sign',
    '-rawin',
    '-digest',
    'sm3',
    '-pkeyopt',
    'distid:1234567812345678',
    '-inkey',
    file('sm2.pem'),
    '-in',
    file('msg'),
    '-out',
    file('sm2.sig'),
  );

  it("reads openssl's SPKI PEM and the hex point sm-crypto prints as the same key", () => {
    const pem = parsed(readFileSync(file('sm2.pub'), 'utf8'));
    expect(pem.algorithm).toBe('SM2-SM3');
    expect(pem.bits).toBeUndefined();
    expect(pem.normalisedPem.replace(/\s/g, '')).toBe(
      readFileSync(file('sm2.pub'), 'utf8').replace(/\s/g, ''),
    );
    const der = openssl('pkey', '-in', file('sm2.pem'), '-pubout', '-outform', 'DER');
    expect(pem.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
    const point = der.subarray(der.length - 65).toString('hex');
    expect(parsed(point).fingerprint).toBe(pem.fingerprint);
    expect(parsed(point.toUpperCase()).normalisedPem).toBe(pem.normalisedPem);
  });

  it('refuses a hex or PEM point off the curve', () => {
    const point = Buffer.from(sm2PublicKeyBytes(sm2PublicKeyOf(sm2PrivateKey())));
    point[64] = (point[64] ?? 0) ^ 1;
    expect(refusal(point.toString('hex'))).toMatch(/not a point/);
    const pemDer = Buffer.concat([
      Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'),
      point,
    ]);
    const pem = `-----BEGIN PUBLIC KEY-----\n${pemDer.toString('base64')}\n-----END PUBLIC KEY-----\n`;
    expect(refusal(pem)).toMatch(/not a point/);
  });

  it('verifies signatures of openssl, sm-crypto-v2 and our signer, in-line and on the pool', async () => {
    const pool = createSignaturePool({ threads: 1 });
    try {
      const kp = smCrypto.generateKeyPairHex();
      const d = sm2PrivateKey();
      const cases: [ChannelPublicKey, string][] = [
        [parsed(readFileSync(file('sm2.pub'), 'utf8')), readFileSync(file('sm2.sig')).toString('base64')],
        [
          parsed(kp.publicKey),
          Buffer.from(
            smCrypto.doSignature(new Uint8Array(message), kp.privateKey, { hash: true, der: true }),
            'hex',
          ).toString('base64'),
        ],
        [
          parsed(Buffer.from(sm2PublicKeyBytes(sm2PublicKeyOf(d))).toString('hex')),
          encodeSm2Signature(sm2Sign(d, message)).toString('base64'),
        ],
      ];
      for (const [key, sig] of cases) {
        expect(await verifyChannelSignature(key, message, sig)).toBe(true);
        expect(await verifyChannelSignature(key, message, sig, pool)).toBe(true);
        const tampered = Buffer.concat([message.subarray(0, -1), Buffer.from('}')]);
        expect(
          await verifyChannelSignature(key, Buffer.concat([tampered, Buffer.from(' ')]), sig, pool),
        ).toBe(false);
        const hexDer = Buffer.from(sig, 'base64').toString('hex');
        // One wire encoding: hex DER (what sm-crypto prints) is not base64 of DER and fails.
        expect(await verifyChannelSignature(key, message, hexDer)).toBe(false);
      }
      expect(pool.threads()).toBe(1);
    } finally {
      await pool.close();
    }
    expect(pool.threads()).toBe(0);
    await expect(pool.verifySm2({ point: new Uint8Array(), message, der: new Uint8Array() })).rejects.toThrow(
      /closed/,
    );
  });
});
