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

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('req', 5)));
    expect(ids.size).toBe(10_000);
  });
});
