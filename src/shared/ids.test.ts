import { describe, expect, it } from 'vitest';
import { hasPrefix, newId } from './ids.js';

describe('newId', () => {
  it('is prefix_ + 26 lower-case base32 characters', () => {
    const id = newId('ch');
    expect(id).toMatch(/^ch_[0-9a-z]{26}$/);
    expect(hasPrefix(id, 'ch')).toBe(true);
    expect(hasPrefix(id, 'job')).toBe(false);
  });

  it('sorts by creation time', () => {
    const ids = [1_000, 2_000, 1_700_000_000_000, 1_700_000_000_001].map((t) => newId('job', t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps creation order within one millisecond and when the clock goes back', () => {
    const now = Date.now() + 10_000;
    const ids = [
      newId('oev', now),
      newId('oev', now),
      newId('oev', now),
      newId('oev', now - 5),
      newId('oev', now + 1),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('req', 5)));
    expect(ids.size).toBe(10_000);
  });
});
