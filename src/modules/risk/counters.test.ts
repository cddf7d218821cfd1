import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BucketValue,
  bucketRange,
  bucketsToAdd,
  EMPTY_MOMENTS,
  type Moments,
  mergeMoments,
  stddev,
  sumBuckets,
  variance,
  welfordAdd,
  windowExpiry,
  windowStart,
} from './counters.js';

/** Two-pass mean and sum of squared deviations: the reference the running statistics must match. */
function naive(xs: number[]): Moments {
  if (xs.length === 0) return { n: 0, mean: 0, m2: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { n: xs.length, mean, m2: xs.reduce((a, x) => a + (x - mean) ** 2, 0) };
}

const fold = (xs: number[]) => xs.reduce(welfordAdd, EMPTY_MOMENTS);

/** Equal up to rounding relative to the size of the values involved. */
function close(actual: Moments, expected: Moments, scale: number): void {
  expect(actual.n).toBe(expected.n);
  expect(Math.abs(actual.mean - expected.mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, scale));
  expect(Math.abs(actual.m2 - expected.m2)).toBeLessThanOrEqual(
    1e-9 * Math.max(1, scale * scale * expected.n),
  );
}

// Amounts in minor units (up to 10⁷ yuan in fen) and some fractional values.
const value = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000_000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
);
const values = fc.array(value, { maxLength: 60 });
const scaleOf = (xs: number[]) => xs.reduce((a, x) => Math.max(a, Math.abs(x)), 0);

describe('running statistics', () => {
  it('welfordAdd matches a two-pass mean and variance', () => {
    fc.assert(
      fc.property(values, (xs) => {
        close(fold(xs), naive(xs), scaleOf(xs));
      }),
    );
  });

  it('a first value gives mean = x and m2 = 0 exactly', () => {
    expect(welfordAdd(EMPTY_MOMENTS, 12_345)).toEqual({ n: 1, mean: 12_345, m2: 0 });
    expect(welfordAdd(welfordAdd(EMPTY_MOMENTS, 10), 20)).toEqual({ n: 2, mean: 15, m2: 50 });
  });

  it('mergeMoments of two parts equals the statistics of the whole', () => {
    fc.assert(
      fc.property(values, values, (a, b) => {
        close(mergeMoments(fold(a), fold(b)), naive([...a, ...b]), scaleOf([...a, ...b]));
      }),
    );
  });

  it('merging with nothing gives the other side unchanged', () => {
    fc.assert(
      fc.property(values, (xs) => {
        const m = fold(xs);
        expect(mergeMoments(m, EMPTY_MOMENTS)).toEqual(m);
        expect(mergeMoments(EMPTY_MOMENTS, m)).toEqual(m);
      }),
    );
  });

  it('stddev is the sample standard deviation, 0 below two values', () => {
    expect(stddev(EMPTY_MOMENTS)).toBe(0);
    expect(stddev(fold([7]))).toBe(0);
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − mean)² = 32, sample variance 32/7.
    const m = fold([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(m.mean).toBe(5);
    expect(m.m2).toBeCloseTo(32, 12);
    expect(variance(m)).toBeCloseTo(32 / 7, 12);
    expect(stddev(m)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    // Equal values: rounding may leave m2 a hair below zero; the variance is never negative.
    expect(variance({ n: 3, mean: 1, m2: -1e-18 })).toBe(0);
  });

  it('stddev matches a two-pass sample standard deviation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 2, maxLength: 60 }),
        (xs) => {
          const ref = Math.sqrt(naive(xs).m2 / (xs.length - 1));
          expect(Math.abs(stddev(fold(xs)) - ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, ref));
        },
      ),
    );
  });
});

describe('fixed windows', () => {
  const HOUR = 3_600_000;

  it('a window is [k·W, (k+1)·W): its last millisecond is in it, the next one starts anew', () => {
    const start = 472_222 * HOUR;
    expect(windowStart(start, HOUR)).toBe(start);
    expect(windowStart(start + HOUR - 1, HOUR)).toBe(start);
    expect(windowStart(start + HOUR, HOUR)).toBe(start + HOUR);
    expect(windowStart(start - 1, HOUR)).toBe(start - HOUR);
    expect(windowExpiry(start, HOUR)).toBe(start + 2 * HOUR);
  });

  it('windowStart is the greatest multiple of W not above now, negative times included', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e13 }), fc.integer({ min: 1, max: 1e9 }), (now, w) => {
        const s = windowStart(now, w);
        expect(s % w === 0).toBe(true);
        expect(s).toBeLessThanOrEqual(now);
        expect(now - s).toBeLessThan(w);
      }),
    );
  });

  it('bucketsToAdd writes each current bucket once, sorted by key then bucket, with the longest expiry', () => {
    const now = 472_222 * HOUR + 5;
    expect(
      bucketsToAdd(
        [
          { key: 'b', windowMs: 60_000 },
          { key: 'a', windowMs: HOUR, bucketMs: 60_000 },
          { key: 'b', windowMs: 60_000 },
          { key: 'a', windowMs: 60_000 },
          { key: 'a', windowMs: HOUR },
        ],
        now,
      ),
    ).toEqual([
      // 'a' in minute buckets: the hour window needs its bucket an hour longer than the minute window.
      { key: 'a', bucketMs: 60_000, start: now - 5, expiresAt: now - 5 + 60_000 + HOUR },
      { key: 'a', bucketMs: HOUR, start: now - 5, expiresAt: now - 5 + 2 * HOUR },
      { key: 'b', bucketMs: 60_000, start: now - 5, expiresAt: now - 5 + 120_000 },
    ]);
  });
});

describe('sliding windows', () => {
  const HOUR = 3_600_000;
  const TEN = 600_000;

  it('reads every bucket overlapping the last windowMs: 7 ten-minute buckets mid-bucket, 6 at a bucket end', () => {
    const t = 472_222 * HOUR;
    expect(bucketRange({ key: 'k', windowMs: HOUR, bucketMs: TEN }, t + 5 * 60_000)).toEqual({
      key: 'k',
      bucketMs: TEN,
      first: t - HOUR,
      last: t,
    });
    // At a bucket's last millisecond the window (now − 1 h, now] starts exactly at a bucket.
    expect(bucketRange({ key: 'k', windowMs: HOUR, bucketMs: TEN }, t + TEN - 1)).toEqual({
      key: 'k',
      bucketMs: TEN,
      first: t - HOUR + TEN,
      last: t,
    });
    // A fixed window reads only its own.
    expect(bucketRange({ key: 'k', windowMs: HOUR }, t + 5)).toEqual({
      key: 'k',
      bucketMs: HOUR,
      first: t,
      last: t,
    });
  });

  it('a sliding count never misses an add of the window and counts none older than window + bucket', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 * HOUR }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 5 * HOUR }),
        (times, offset) => {
          const base = 472_222 * HOUR;
          const spec = { key: 'k', windowMs: HOUR, bucketMs: TEN };
          const now = base + offset;
          const buckets = new Map<number, BucketValue>();
          for (const t of times.filter((x) => x <= offset)) {
            const start = windowStart(base + t, TEN);
            const b = buckets.get(start) ?? { key: 'k', bucketMs: TEN, start, count: 0, amount: 0 };
            b.count++;
            b.amount += 7;
            buckets.set(start, b);
          }
          const [got] = sumBuckets([spec], [...buckets.values()], now);
          const inWindow = times.filter((x) => x <= offset && base + x > now - HOUR).length;
          const inWider = times.filter((x) => x <= offset && base + x > now - HOUR - TEN).length;
          expect(got?.count).toBeGreaterThanOrEqual(inWindow);
          expect(got?.count).toBeLessThanOrEqual(inWider);
          expect(got?.amount).toBe((got?.count ?? 0) * 7);
        },
      ),
    );
  });
});
