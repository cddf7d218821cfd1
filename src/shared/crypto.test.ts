import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecryptionError, keyIdOf, makeKeyring, open, seal } from './crypto.js';

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
