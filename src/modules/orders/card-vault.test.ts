import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionError, keyIdOf, makeKeyring } from '../../shared/crypto.js';
import { openCard, rewrapKey, sealCard } from './card-vault.js';

const key = () => {
  const k = randomBytes(32);
  return { id: keyIdOf(k), key: k };
};

describe('card vault (envelope encryption)', () => {
  const master = makeKeyring(key());
  const card = { number: '12345678901234567', secret: '123456789012345678' };

  it('seals with a fresh data key per card and opens it again', () => {
    const a = sealCard(master, 'ord_a', card);
    const b = sealCard(master, 'ord_b', card);
    expect(a.keyId).toBe(master.active.id);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(a.ciphertext).not.toContain(card.number);
    expect(openCard(master, 'ord_a', a)).toEqual(card);
  });

  it('an altered ciphertext, tag or wrapped key fails with a clear error, never garbage', () => {
    const sealed = sealCard(master, 'ord_a', card);
    const flip = (text: string, part: number) => {
      const parts = text.split('.');
      const bytes = Buffer.from(parts[part] ?? '', 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 0x40;
      parts[part] = bytes.toString('base64url');
      return parts.join('.');
    };
    expect(() => openCard(master, 'ord_a', { ...sealed, ciphertext: flip(sealed.ciphertext, 3) })).toThrow(
      DecryptionError,
    );
    expect(() => openCard(master, 'ord_a', { ...sealed, ciphertext: flip(sealed.ciphertext, 4) })).toThrow(
      DecryptionError,
    );
    expect(() => openCard(master, 'ord_a', { ...sealed, wrappedKey: flip(sealed.wrappedKey, 3) })).toThrow(
      DecryptionError,
    );
    expect(() => openCard(master, 'ord_a', sealed)).not.toThrow();
  });

  it('a sealed card moved to another order does not open', () => {
    const sealed = sealCard(master, 'ord_a', card);
    expect(() => openCard(master, 'ord_b', sealed)).toThrow(DecryptionError);
  });

  it('re-wrapping moves the data key under the new master key; the old key is then not needed', () => {
    const old = key();
    const sealed = sealCard(makeKeyring(old), 'ord_a', card);
    const rotated = makeKeyring(key(), [old]);
    const moved = rewrapKey(rotated, 'ord_a', sealed.wrappedKey);
    expect(moved.keyId).toBe(rotated.active.id);
    const onlyNew = makeKeyring(rotated.active);
    expect(
      openCard(onlyNew, 'ord_a', { wrappedKey: moved.wrappedKey, ciphertext: sealed.ciphertext }),
    ).toEqual(card);
    expect(() => openCard(onlyNew, 'ord_a', sealed)).toThrow(/not configured/);
  });
});

describe('card vault under the gm suite', () => {
  const k = key();
  const card = { number: '12345678901234567', secret: '123456789012345678' };

  it('seals both layers with SM4 + HMAC-SM3, and either suite opens either', () => {
    const gm = makeKeyring(k, [], 'gm');
    const standard = makeKeyring(k);
    const sealed = sealCard(gm, 'ord_a', card);
    expect(sealed.wrappedKey.startsWith('v2.')).toBe(true);
    expect(sealed.ciphertext.startsWith('v2.dek.')).toBe(true);
    expect(openCard(standard, 'ord_a', sealed)).toEqual(card);
    expect(openCard(gm, 'ord_a', sealCard(standard, 'ord_a', card))).toEqual(card);
    expect(() => openCard(gm, 'ord_b', sealed)).toThrow(DecryptionError);
    expect(rewrapKey(gm, 'ord_a', sealCard(standard, 'ord_a', card).wrappedKey).wrappedKey).toMatch(/^v2\./);
  });
});
