import { createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecryptionError, keyIdOf, makeKeyring, open, seal } from './crypto.js';
import { hmacSm3 } from './gm/sm3.js';

const key = () => {
  const k = randomBytes(32);
  return { id: keyIdOf(k), key: k };
};

describe('seal / open (AES-256-GCM)', () => {
  const ring = makeKeyring(key());

  it('round-trips any text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(open(ring, seal(ring, text, 'ctx'), 'ctx')).toBe(text);
      }),
    );
  });

  it('never returns garbage for an altered ciphertext, tag or iv', () => {
    const sealed = seal(ring, 'the secret', 'ctx');
    const parts = sealed.split('.');
    for (const i of [2, 3, 4]) {
      const altered = [...parts];
      const bytes = Buffer.from(altered[i] ?? '', 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      altered[i] = bytes.toString('base64url');
      expect(() => open(ring, altered.join('.'), 'ctx')).toThrow(DecryptionError);
    }
  });

  it('binds the context: a ciphertext moved to another row does not open', () => {
    expect(() => open(ring, seal(ring, 'x', 'channel:a'), 'channel:b')).toThrow(DecryptionError);
  });

  it('opens with a retired key after rotation, and names a key it does not have', () => {
    const old = key();
    const before = makeKeyring(old);
    const sealed = seal(before, 'x', 'c');
    const after = makeKeyring(key(), [old]);
    expect(open(after, sealed, 'c')).toBe('x');
    expect(seal(after, 'x', 'c').split('.')[1]).toBe(after.active.id);
    expect(() => open(makeKeyring(key()), sealed, 'c')).toThrow(/not configured/);
  });

  it('refuses keys that are not 256 bits', () => {
    expect(() => makeKeyring({ id: 'k', key: randomBytes(16) })).toThrow(/32 bytes/);
  });
});

describe('seal / open under the gm suite (SM4-CTR + HMAC-SM3)', () => {
  const k = key();
  const gm = makeKeyring(k, [], 'gm');
  const standard = makeKeyring(k);

  it('round-trips any text, in the v2 format', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const sealed = seal(gm, text, 'ctx');
        expect(sealed.startsWith(`v2.${k.id}.`)).toBe(true);
        expect(open(gm, sealed, 'ctx')).toBe(text);
      }),
    );
  });

  it('is the format docs/crypto-suites.md describes: HKDF-SM3 keys, MAC over version, key id, iv, ciphertext, context', () => {
    const sealed = seal(gm, 'the secret', 'channel:a');
    const [, id, iv, ct, mac] = sealed.split('.').map((p) => p) as [string, string, string, string, string];
    const b = (x: string) => Buffer.from(x, 'base64url');
    const enc = Buffer.from(hkdfSync('sm3', k.key, Buffer.alloc(0), 'recard seal v2 sm4-ctr', 16));
    const macKey = Buffer.from(hkdfSync('sm3', k.key, Buffer.alloc(0), 'recard seal v2 hmac-sm3', 32));
    const lengths = Buffer.alloc(6);
    lengths.writeUInt16BE(Buffer.byteLength(id), 0);
    lengths.writeUInt32BE(b(ct).length, 2);
    const input = Buffer.concat([
      Buffer.from('v2'),
      lengths,
      Buffer.from(id),
      b(iv),
      b(ct),
      Buffer.from('channel:a'),
    ]);
    expect(hmacSm3(macKey, input).equals(b(mac))).toBe(true);
    const d = createDecipheriv('sm4-ctr', enc, b(iv));
    expect(Buffer.concat([d.update(b(ct)), d.final()]).toString()).toBe('the secret');
  });

  it("reads the other suite's format whatever its own: a suite switch loses nothing", () => {
    expect(open(gm, seal(standard, 'x', 'c'), 'c')).toBe('x');
    expect(open(standard, seal(gm, 'x', 'c'), 'c')).toBe('x');
    expect(seal(standard, 'x', 'c').startsWith('v1.')).toBe(true);
  });

  it('refuses a flipped byte of the iv, ciphertext or MAC, another context, key id or version', () => {
    const sealed = seal(gm, 'the secret', 'ctx');
    const parts = sealed.split('.');
    for (const i of [2, 3, 4]) {
      const altered = [...parts];
      const bytes = Buffer.from(altered[i] ?? '', 'base64url');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x80;
      altered[i] = bytes.toString('base64url');
      expect(() => open(gm, altered.join('.'), 'ctx')).toThrow(DecryptionError);
    }
    expect(() => open(gm, sealed, 'ctx2')).toThrow(DecryptionError);
    expect(() => open(gm, sealed, 'ct')).toThrow(DecryptionError);
    const sameKeyOtherId = makeKeyring({ id: 'other', key: k.key }, [], 'gm');
    expect(() => open(sameKeyOtherId, ['v2', 'other', ...parts.slice(2)].join('.'), 'ctx')).toThrow(
      DecryptionError,
    );
    expect(() => open(gm, ['v1', ...parts.slice(1)].join('.'), 'ctx')).toThrow(DecryptionError);
    expect(() => open(gm, ['v3', ...parts.slice(1)].join('.'), 'ctx')).toThrow(/format/);
    expect(() => open(gm, `${sealed}.x`, 'ctx')).toThrow(/format/);
  });

  it('opens with a retired key after rotation', () => {
    const old = key();
    const sealed = seal(makeKeyring(old, [], 'gm'), 'x', 'c');
    expect(open(makeKeyring(key(), [old], 'gm'), sealed, 'c')).toBe('x');
  });
});
