import { describe, expect, it } from 'vitest';
import { evaluate } from './engine.js';
import type { Facts } from './facts.js';
import { DEFAULT_PARAMS, RULE_IDS, type RuleId, type RuleSetting } from './model.js';
import { RULES } from './rules/index.js';

/** Each rule at its threshold and one past it, pure (the flows test them through the server). */
const T0 = Date.UTC(2026, 11, 1, 8);
const base: Facts = {
  orderId: 'ord_x',
  channelId: 'ch_x',
  sellerId: 's1',
  cardType: 'CMCC',
  faceValue: 10_000,
  currency: 'CNY',
  nowMs: T0,
};
const run = <R extends RuleId>(id: R, facts: Partial<Facts>, params = DEFAULT_PARAMS[id]) =>
  (RULES[id] as (p: unknown, f: Facts) => ReturnType<(typeof RULES)[R]>)(params, { ...base, ...facts });

const BEIJING = { lat: 39.9042, lon: 116.4074, city: 'Beijing' };
const TIANJIN = { lat: 39.3434, lon: 117.3616, city: 'Tianjin' }; // ~110 km
const SHANGHAI = { lat: 31.2304, lon: 121.4737, city: 'Shanghai' }; // ~1,067 km

describe('risk rules at their boundaries', () => {
  it('card testing: the 3rd check freezes, the 2nd does not', () => {
    expect(run('card_testing', { cardChecks: 2 })).toBeNull();
    expect(run('card_testing', { cardChecks: 3 })?.decision).toBe('freeze');
  });

  it('velocity: exactly at the limit passes, one past it goes to review (orders and amount, hour and day)', () => {
    const v = (orders: number, amount: number, window: 'hour' | 'day' = 'hour') => ({
      velocity: [{ subject: 'device' as const, window, orders, amount }],
    });
    expect(run('velocity', v(20, 1_000_000))).toBeNull();
    expect(run('velocity', v(21, 1))?.decision).toBe('review');
    expect(run('velocity', v(1, 1_000_001))?.reasons[0]).toContain('amount');
    expect(run('velocity', v(100, 2_000_000, 'day'))).toBeNull();
    expect(run('velocity', v(101, 1, 'day'))?.decision).toBe('review');
    // A subject the rule does not watch does not fire it.
    expect(run('velocity', v(21, 1), { ...DEFAULT_PARAMS.velocity, subjects: ['seller'] })).toBeNull();
  });

  it('geo jump: farther than the limit within the window goes to review with a step-up; at the limit or later passes', () => {
    const at = (ago: number, now = SHANGHAI) => ({
      location: { now, before: { ...BEIJING, atMs: T0 - ago } },
    });
    expect(run('geo_jump', at(3_600_000))?.decision).toBe('review');
    expect(run('geo_jump', at(3_600_000))?.stepUp).toBe(true);
    expect(run('geo_jump', at(3_600_000, TIANJIN))).toBeNull();
    // Exactly the window since the last located order still counts; one ms more does not.
    expect(run('geo_jump', at(6 * 3_600_000))?.decision).toBe('review');
    expect(run('geo_jump', at(6 * 3_600_000 + 1))).toBeNull();
    // The distance threshold itself: 1,067 km fires at 1,066, not at 1,068.
    expect(run('geo_jump', at(60_000), { km: 1066, window_ms: 6 * 3_600_000 })).not.toBeNull();
    expect(run('geo_jump', at(60_000), { km: 1068, window_ms: 6 * 3_600_000 })).toBeNull();
    expect(run('geo_jump', { location: { now: null, before: { ...BEIJING, atMs: T0 } } })).toBeNull();
  });

  it('amount anomaly: 3σ from the mean passes, beyond it goes to review; too few samples never fire', () => {
    // n = 30, mean 10,000, sample variance 1,000² → σ = 1,000.
    const m = { n: 30, mean: 10_000, m2: 29 * 1_000_000 };
    expect(run('amount_anomaly', { amountMoments: m, faceValue: 13_000 })).toBeNull();
    expect(run('amount_anomaly', { amountMoments: m, faceValue: 13_001 })?.decision).toBe('review');
    expect(run('amount_anomaly', { amountMoments: m, faceValue: 6_999 })?.decision).toBe('review');
    expect(run('amount_anomaly', { amountMoments: { ...m, n: 29 }, faceValue: 90_000 })).toBeNull();
    // Every earlier order had one value: the same passes, another is off the scale.
    const flat = { n: 40, mean: 10_000, m2: 0 };
    expect(run('amount_anomaly', { amountMoments: flat, faceValue: 10_000 })).toBeNull();
    expect(run('amount_anomaly', { amountMoments: flat, faceValue: 10_001 })?.decision).toBe('review');
  });

  it('amount anomaly: a usual face value is never one — below common_share of the orders it fires, at it it does not', () => {
    // n = 400: 0.25% is one order, but common_min asks for two. A ¥500 card past 3σ, the first or
    // second of its value, goes to review; once two were seen it is a value of this card type and
    // passes. common_share 0 is the bare 3σ test.
    const m = { n: 400, mean: 10_000, m2: 399 * 1_000_000 };
    const judge = (moments: typeof m, seen: number, p = DEFAULT_PARAMS.amount_anomaly) =>
      run('amount_anomaly', { amountMoments: moments, faceValue: 50_000, faceSeen: seen }, p)?.decision ??
      null;
    expect(judge(m, 0)).toBe('review');
    expect(judge(m, 1)).toBe('review');
    expect(judge(m, 2)).toBeNull();
    expect(judge(m, 50, { ...DEFAULT_PARAMS.amount_anomaly, common_share: 0 })).toBe('review');
    // n = 1,200: 0.25% is three orders; two are not enough.
    const more = { n: 1_200, mean: 10_000, m2: 1_199 * 1_000_000 };
    expect(judge(more, 2)).toBe('review');
    expect(judge(more, 3)).toBeNull();
  });

  it('ring member: a seller of a flagged ring goes to review, one in none passes', () => {
    expect(run('ring_member', { ring: null })).toBeNull();
    expect(run('ring_member', {})).toBeNull();
    expect(run('ring_member', { ring: { id: 'rng_1', size: 4, badMembers: 2 } })).toMatchObject({
      decision: 'review',
      reasons: ['seller is in fraud ring rng_1 of 4 sellers, 2 with rejected or frozen orders'],
    });
  });

  it('blacklists reject; a blacklisted card also files a report', () => {
    expect(run('blacklist', { blacklisted: [] })).toBeNull();
    expect(run('blacklist', { blacklisted: ['ip'] })).toMatchObject({ decision: 'reject' });
    expect(run('blacklist', { blacklisted: ['ip'] })?.report).toBeUndefined();
    expect(run('blacklist', { blacklisted: ['card'] })?.report).toBe('blacklisted_card');
  });

  it('device mismatch: a new device of a seller with one goes to review; the first device ever does not', () => {
    expect(run('device_mismatch', { device: { isNew: true, knownBefore: 0 } })).toBeNull();
    expect(run('device_mismatch', { device: { isNew: false, knownBefore: 3 } })).toBeNull();
    expect(run('device_mismatch', { device: { isNew: true, knownBefore: 1 } })?.decision).toBe('review');
  });

  it('new account, high value: younger than N days and more than M', () => {
    const day = 86_400_000;
    expect(run('new_account_high_value', { accountAgeMs: 7 * day - 1, faceValue: 100_000 })).toBeNull();
    expect(run('new_account_high_value', { accountAgeMs: 7 * day - 1, faceValue: 100_001 })?.decision).toBe(
      'review',
    );
    expect(run('new_account_high_value', { accountAgeMs: 7 * day, faceValue: 100_001 })).toBeNull();
  });

  it('structuring: the 3rd order in the band freezes and reports', () => {
    expect(run('structuring', { structuringOrders: 2 })).toBeNull();
    expect(run('structuring', { structuringOrders: 3 })).toMatchObject({
      decision: 'freeze',
      report: 'structuring',
    });
  });

  it('stolen card: the issuer saying so freezes and reports', () => {
    expect(run('stolen_card', { issuerReason: 'card_used' })).toBeNull();
    expect(run('stolen_card', { issuerReason: 'card_reported_stolen' })).toMatchObject({
      decision: 'freeze',
      report: 'stolen_card',
    });
  });
});

describe('the engine', () => {
  const on = (id: RuleId, mode: 'enforce' | 'shadow' = 'enforce'): RuleSetting => ({
    id,
    enabled: true,
    mode,
    params: DEFAULT_PARAMS[id],
    version: 1,
  });
  const hot: Facts = {
    ...base,
    cardChecks: 3,
    blacklisted: ['card'],
    velocity: [{ subject: 'seller', window: 'hour', orders: 21, amount: 1 }],
  };

  it('the strongest decision wins and every fired rule is recorded', () => {
    const e = evaluate([on('velocity'), on('card_testing'), on('blacklist')], 'intake', hot);
    expect(e.decision).toBe('reject');
    expect(e.fired.map((f) => f.rule).sort()).toEqual(['blacklist', 'card_testing', 'velocity']);
    expect(e.reports).toEqual(['blacklisted_card']);
  });

  it('a rule in shadow mode is recorded but changes nothing', () => {
    const e = evaluate([on('velocity'), on('blacklist', 'shadow')], 'intake', hot);
    expect(e.decision).toBe('review');
    expect(e.fired).toContainEqual(expect.objectContaining({ rule: 'blacklist', shadow: true }));
    expect(e.reports).toEqual([]);
    const quiet = evaluate([on('blacklist', 'shadow')], 'intake', hot);
    expect(quiet.decision).toBe('allow');
    expect(quiet.fired).toHaveLength(1);
  });

  it('a disabled rule, or one of the other stage, does not run', () => {
    const off = { ...on('card_testing'), enabled: false };
    expect(evaluate([off], 'intake', hot).fired).toEqual([]);
    expect(evaluate([on('card_testing')], 'issuer', hot).fired).toEqual([]);
    expect(
      evaluate([on('stolen_card')], 'intake', { ...base, issuerReason: 'card_reported_stolen' }).fired,
    ).toEqual([]);
  });

  it('every rule has a function, defaults and a stage', () => {
    for (const id of RULE_IDS) {
      expect(RULES[id]).toBeTypeOf('function');
      expect(DEFAULT_PARAMS[id]).toBeDefined();
    }
  });
});
