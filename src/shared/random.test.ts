import { describe, expect, it } from 'vitest';
import { randomBytesPooled } from './random.js';

describe('pooled random bytes', () => {
  it('hands out every byte once: 10,000 IVs across several refills are all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(randomBytesPooled(12).toString('hex'));
    expect(seen.size).toBe(10_000);
  });

  it('gives copies: changing one does not change the next', () => {
    const a = randomBytesPooled(32);
    const before = randomBytesPooled(32);
    a.fill(0);
    const after = randomBytesPooled(32);
    expect(before.equals(Buffer.alloc(32))).toBe(false);
    expect(after.equals(Buffer.alloc(32))).toBe(false);
    expect(after.equals(before)).toBe(false);
  });

  it('serves sizes beyond the pool directly, and looks random (every byte value, roughly even)', () => {
    expect(randomBytesPooled(10_000)).toHaveLength(10_000);
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2_000; i++) for (const b of randomBytesPooled(32)) counts[b] = (counts[b] ?? 0) + 1;
    // 64,000 bytes: 250 expected per value; a biased or repeating source falls far outside.
    expect(Math.min(...counts)).toBeGreaterThan(150);
    expect(Math.max(...counts)).toBeLessThan(350);
  });
});
