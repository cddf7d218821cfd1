import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, money } from '../../shared/money.js';
import { decideAdjustment } from './adjust.js';
import { chooseFx, type FxQuoteRow } from './fx.js';
import { adjustedRate, splitFace } from './price.js';
import { checkRanges, RateIndex, type RateSheet, resolveRate } from './rates.js';

describe('splitFace', () => {
  it('seller + commission + margin = face value exactly, for every face and rates', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (face, rate, commission) => {
          const f = { amount: face, currency: 'CNY' as const };
          const s = splitFace(f, rate, commission);
          expect(add(add(s.seller, s.commission), s.margin)).toEqual(f);
          for (const part of [s.seller, s.commission, s.margin]) expect(part.amount >= 0n).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('rounds the seller down and leaves the remainder in the margin', () => {
    // 99.99 CNY at 95.5 %: 95.49045 → 95.49 to the seller; 4.50 margin, 20 % of it (0.90) to the channel.
    const s = splitFace(money(9_999, 'CNY'), 9_550, 2_000);
    expect(s.seller.amount).toBe(9_549n);
    expect(s.commission.amount).toBe(90n);
    expect(s.margin.amount).toBe(360n);
  });
});

describe('adjustedRate', () => {
  const bounds = { floorBps: 9_000, ceilingBps: 9_600 };
  it('lowers by the step within floor and ceiling, never above the table rate', () => {
    expect(adjustedRate(9_500, 0, bounds)).toBe(9_500);
    expect(adjustedRate(9_500, 200, bounds)).toBe(9_300);
    expect(adjustedRate(9_100, 200, bounds)).toBe(9_000); // floor
    expect(adjustedRate(9_800, 100, bounds)).toBe(9_600); // ceiling while troubled
    expect(adjustedRate(8_500, 200, bounds)).toBe(8_500); // under the floor already: never raised
  });
  it('is never above the base rate and never below min(base, floor)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (base, adj, a, b) => {
          const floorBps = Math.min(a, b);
          const r = adjustedRate(base, adj, { floorBps, ceilingBps: Math.max(a, b) });
          expect(r).toBeLessThanOrEqual(base);
          expect(r).toBeGreaterThanOrEqual(Math.min(base, floorBps));
        },
      ),
    );
  });
});

const sheet = (over: Partial<RateSheet> & Pick<RateSheet, 'id' | 'ranges'>): RateSheet => ({
  tier: 'default',
  tierId: '',
  cardType: 'cmcc_national',
  kind: 'rate',
  effectiveFrom: 1_000,
  note: null,
  createdAt: 0,
  ...over,
});
const range = (id: string, faceMin: number, faceMax: number, bps: number) => ({ id, faceMin, faceMax, bps });

describe('resolveRate', () => {
  const index = new RateIndex([
    sheet({ id: 'rts_1', ranges: [range('d1', 1_000, 50_000, 9_500)] }),
    sheet({ id: 'rts_2', effectiveFrom: 5_000, ranges: [range('d2', 1_000, 50_000, 9_400)] }),
    sheet({ id: 'rts_3', tier: 'group', tierId: 'agents', ranges: [range('g1', 10_000, 10_000, 9_600)] }),
    sheet({ id: 'rts_4', tier: 'channel', tierId: 'ch_a', ranges: [range('c1', 5_000, 20_000, 9_700)] }),
    // The channel withdrew its own sheet from 8 000 on: its group and the default apply again.
    sheet({ id: 'rts_5', tier: 'channel', tierId: 'ch_a', effectiveFrom: 8_000, ranges: [] }),
  ]);
  const ask = { cardType: 'cmcc_national', kind: 'rate' as const, channelId: 'ch_b', groupId: null };

  it('takes the most specific tier that covers the face value', () => {
    const at = 6_000;
    expect(resolveRate(index, { ...ask, face: 10_000, at })?.range.id).toBe('d2');
    expect(resolveRate(index, { ...ask, groupId: 'agents', face: 10_000, at })?.range.id).toBe('g1');
    expect(resolveRate(index, { ...ask, groupId: 'agents', face: 5_000, at })?.range.id).toBe('d2');
    expect(
      resolveRate(index, { ...ask, channelId: 'ch_a', groupId: 'agents', face: 10_000, at })?.range.id,
    ).toBe('c1');
  });

  it('answers for any past moment from the version then in force', () => {
    expect(resolveRate(index, { ...ask, face: 10_000, at: 4_999 })?.range.id).toBe('d1');
    expect(resolveRate(index, { ...ask, face: 10_000, at: 5_000 })?.range.id).toBe('d2');
    expect(resolveRate(index, { ...ask, face: 10_000, at: 999 })).toBeUndefined();
    expect(resolveRate(index, { ...ask, channelId: 'ch_a', face: 10_000, at: 9_000 })?.range.id).toBe('d2');
    expect(resolveRate(index, { ...ask, face: 60_000, at: 9_000 })).toBeUndefined();
  });

  it('two versions taking effect together: the later-written one wins', () => {
    const twin = new RateIndex([
      sheet({ id: 'rts_9', ranges: [range('late', 1, 100, 1)] }),
      sheet({ id: 'rts_8', ranges: [range('early', 1, 100, 2)] }),
    ]);
    expect(resolveRate(twin, { ...ask, face: 50, at: 2_000 })?.range.id).toBe('late');
  });
});

describe('checkRanges', () => {
  const faces = [1_000, 2_000, 5_000, 10_000];
  it('accepts disjoint ranges that each cover an accepted face value', () => {
    expect(
      checkRanges(
        [
          { face_min: 1_000, face_max: 2_000, bps: 9_000 },
          { face_min: 5_000, face_max: 10_000, bps: 9_500 },
        ],
        faces,
      ),
    ).toBeUndefined();
  });
  it('names the range that overlaps, is reversed or covers no accepted face', () => {
    expect(
      checkRanges(
        [
          { face_min: 5_000, face_max: 10_000, bps: 1 },
          { face_min: 1_000, face_max: 5_000, bps: 1 },
        ],
        faces,
      ),
    ).toMatchObject({ code: 'rate_ranges_overlap', field: 'ranges.0.face_min' });
    expect(checkRanges([{ face_min: 3_000, face_max: 4_000, bps: 1 }], faces)).toMatchObject({
      code: 'unsupported_face_value',
      field: 'ranges.0.face_min',
    });
    expect(checkRanges([{ face_min: 2_000, face_max: 1_000, bps: 1 }], faces)).toMatchObject({
      code: 'invalid_request',
      field: 'ranges.0.face_max',
    });
  });
});

describe('decideAdjustment', () => {
  const policy = {
    enabled: true,
    windowS: 600,
    minOrders: 20,
    failureRateBps: 2_000,
    reviewRateBps: 3_000,
    stepBps: 200,
    floorBps: 9_000,
    ceilingBps: 10_000,
  };
  it('lowers when a threshold is crossed, with the reason, and lifts it when it falls back', () => {
    const up = decideAdjustment(policy, { total: 50, failed: 12, review: 0 }, 0);
    expect(up?.adjustmentBps).toBe(200);
    expect(up?.reason).toMatch(/failure rate 24\.0% ≥ 20\.0%.*50 outcomes/);
    expect(decideAdjustment(policy, { total: 50, failed: 12, review: 0 }, 200)).toBeNull();
    expect(decideAdjustment(policy, { total: 50, failed: 0, review: 20 }, 0)?.reason).toMatch(
      /review rate 40\.0%/,
    );
    expect(decideAdjustment(policy, { total: 50, failed: 2, review: 2 }, 200)).toMatchObject({
      adjustmentBps: 0,
    });
  });
  it('does not judge on too few outcomes, and lifts everything when switched off', () => {
    expect(decideAdjustment(policy, { total: 5, failed: 5, review: 0 }, 0)).toBeNull();
    expect(
      decideAdjustment({ ...policy, enabled: false }, { total: 50, failed: 50, review: 0 }, 200),
    ).toEqual({
      adjustmentBps: 0,
      reason: 'automatic adjustment switched off',
    });
  });
});

describe('chooseFx', () => {
  const row = (over: Partial<FxQuoteRow>): FxQuoteRow => ({
    id: 'fxr_1',
    base: 'USDT',
    quote: 'CNY',
    rate: '7.2512',
    source: 'feed',
    asOf: 100_000,
    validUntil: null,
    ...over,
  });
  const maxAge = 60_000;

  it('inverts a pair quoted the other way round, exactly', () => {
    const chosen = chooseFx([row({})], 'CNY', 'USDT', 120_000, maxAge);
    expect(chosen?.rate).toEqual({ num: 10_000n, den: 72_512n });
    expect(chooseFx([row({})], 'USDT', 'CNY', 120_000, maxAge)?.rate).toEqual({ num: 72_512n, den: 10_000n });
  });

  it('prefers the freshest feed rate, falls back to a manual one, and refuses stale ones', () => {
    const rows = [
      row({ id: 'old', asOf: 90_000 }),
      row({ id: 'new', asOf: 110_000 }),
      row({ id: 'manual', source: 'manual', asOf: 50_000, validUntil: 500_000 }),
    ];
    expect(chooseFx(rows, 'CNY', 'USDT', 120_000, maxAge)?.row.id).toBe('new');
    expect(chooseFx(rows, 'CNY', 'USDT', 200_000, maxAge)?.row.id).toBe('manual');
    expect(chooseFx(rows, 'CNY', 'USDT', 500_000, maxAge)).toBeUndefined();
    expect(chooseFx(rows, 'CNY', 'USD', 120_000, maxAge)).toBeUndefined();
  });
});
