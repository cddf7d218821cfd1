import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  const policy = { baseMs: 1000, capMs: 60_000 };

  it('doubles per attempt: half fixed, half jitter', () => {
    expect(backoffDelayMs(policy, 1, 0)).toBe(500);
    expect(backoffDelayMs(policy, 1, 0.999999)).toBe(999);
    expect(backoffDelayMs(policy, 2, 0)).toBe(1000);
    expect(backoffDelayMs(policy, 3, 0)).toBe(2000);
  });

  it('never exceeds the cap, even after many attempts', () => {
    expect(backoffDelayMs(policy, 50, 0.999999)).toBeLessThan(60_000);
    expect(backoffDelayMs(policy, 50, 0)).toBe(30_000);
  });

  it('is within [ceiling/2, ceiling) and monotone in the attempt for the same jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (base, extra, attempt, r) => {
          const p = { baseMs: base, capMs: base + extra };
          const d = backoffDelayMs(p, attempt, r);
          const ceiling = Math.min(p.capMs, p.baseMs * 2 ** Math.min(attempt - 1, 30));
          expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(d).toBeLessThanOrEqual(ceiling);
          expect(backoffDelayMs(p, attempt + 1, r)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });
});

describe('backoffDelayMs with a timetable', () => {
  it('follows the timetable exactly and repeats its last entry', () => {
    const policy = { baseMs: 1, capMs: 1, scheduleMs: [15_000, 30_000, 180_000] };
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(policy, a, 0.7))).toEqual([
      15_000, 30_000, 180_000, 180_000,
    ]);
  });
});
