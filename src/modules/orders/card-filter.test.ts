import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CardFilter } from './card-filter.js';

const hash = () => randomBytes(32).toString('hex');

describe('CardFilter', () => {
  it('never says "absent" for a hash it was given', () => {
    const filter = new CardFilter(1 << 16, 7);
    const added = Array.from({ length: 2000 }, hash);
    for (const h of added) filter.add(h);
    expect(added.every((h) => filter.mightContain(h))).toBe(true);
  });

  it('says "absent" for most hashes it was not given (false positives near the theory)', () => {
    const filter = new CardFilter(1 << 20, 7);
    for (let i = 0; i < 100_000; i++) filter.add(hash());
    let falsePositives = 0;
    for (let i = 0; i < 20_000; i++) if (filter.mightContain(hash())) falsePositives++;
    // 100k items in 1 Mibit with k=7: about 0.8% in theory.
    expect(falsePositives / 20_000).toBeLessThan(0.02);
  });
});
