import { describe, expect, it } from 'vitest';
import { type Observation, outcomeOf, patternOfRule, renderScore, score } from '../../bench/risk/score.js';
import { type DayOrder, generateDay, type OrderLabel } from '../../bench/risk/synthetic-day.js';

let serial = 0;
function order(
  label: Partial<OrderLabel> & Pick<OrderLabel, 'pattern'>,
  extra: Partial<DayOrder> = {},
): DayOrder {
  const index = serial++;
  return {
    index,
    at: 1_000_000 + index,
    phase: 'day',
    channel: 'shop',
    merchantOrderId: `m-${index}`,
    cardType: 'cmcc_national',
    cardNumber: String(10_000_000_000_000_000 + index),
    submittedSecret: '1'.repeat(18),
    declaredFaceValue: 5000,
    sellerId: `s-${index}`,
    userId: `u-${index}`,
    userRegisteredAt: 0,
    deviceId: 'd',
    clientIp: '123.112.0.1',
    blockchainAddress: null,
    after: null,
    label: { instance: null, signature: false, ...label },
    ...extra,
  };
}
const seen = (
  o: DayOrder,
  status: string | null,
  code: string | null = null,
  rules: string[] = [],
): Observation => ({
  index: o.index,
  httpStatus: code ? 422 : 201,
  code,
  orderId: code ? null : `ord_${o.index}`,
  status,
  rules,
});

describe('outcomeOf', () => {
  it('holds review, frozen, rejected and the lockout refusals; other refusals and pending orders are apart', () => {
    const o = order({ pattern: 'honest' });
    expect(outcomeOf(seen(o, 'review'))).toBe('held');
    expect(outcomeOf(seen(o, 'frozen'))).toBe('held');
    expect(outcomeOf(seen(o, 'rejected'))).toBe('held');
    expect(outcomeOf(seen(o, null, 'card_locked'))).toBe('held');
    expect(outcomeOf(seen(o, null, 'too_many_wrong_secrets'))).toBe('held');
    expect(outcomeOf(seen(o, null, 'card_already_submitted'))).toBe('refused');
    expect(outcomeOf(seen(o, 'settled'))).toBe('passed');
    expect(outcomeOf(seen(o, 'invalid'))).toBe('passed');
    expect(outcomeOf(seen(o, 'verifying'))).toBe('unresolved');
  });

  it('maps rule codes to patterns', () => {
    expect(patternOfRule('velocity_device_hour')).toBe('velocity');
    expect(patternOfRule('card_testing')).toBe('card_testing');
    expect(patternOfRule('geo_jump')).toBe('geo_jump');
    expect(patternOfRule('blacklist_ip')).toBeNull();
  });
});

describe('score', () => {
  it('computes recall over signature orders and instances, honest holds and precision from fired rules', () => {
    const ct = [1, 2, 3, 4].map((k) =>
      order({ pattern: 'card_testing', instance: 'card_testing#1', signature: k >= 3 }),
    );
    const ct2 = [1, 2, 3].map((k) =>
      order({ pattern: 'card_testing', instance: 'card_testing#2', signature: k >= 3 }),
    );
    const honest = Array.from({ length: 200 }, () => order({ pattern: 'honest' }));
    const history = order({ pattern: 'honest' }, { phase: 'history' });
    const orders = [...ct, ...ct2, ...honest, history];
    const obs: Observation[] = [
      seen(ct[0] as DayOrder, 'invalid'),
      seen(ct[1] as DayOrder, 'invalid'),
      seen(ct[2] as DayOrder, 'frozen', null, ['card_testing']),
      seen(ct[3] as DayOrder, null, 'card_locked'),
      ...ct2.map((o) => seen(o, 'invalid')),
      ...honest.map((o, i) => seen(o, i === 0 ? 'review' : 'settled', null, i === 0 ? ['card_testing'] : [])),
      seen(history, 'review'),
    ];
    const s = score(orders, obs, { recall: 0.995, honestHeld: 0.005 });
    const p = s.patterns.find((x) => x.pattern === 'card_testing');
    expect(p).toMatchObject({
      instances: 2,
      instancesCaught: 1,
      recallInstances: 0.5,
      signatureOrders: 3,
      signatureHeld: 2,
      otherOrders: 4,
      otherHeld: 0,
      flagged: 2,
      flaggedTrue: 1,
      precision: 0.5,
    });
    expect(p?.recallOrders).toBeCloseTo(2 / 3);
    // The history order is not scored.
    expect(s.orders).toBe(207);
    expect(s.honest).toMatchObject({ orders: 200, held: 1, heldShare: 0.005 });
    expect(s.confusion.signature).toEqual({ held: 2, passed: 1, refused: 0, unresolved: 0 });
    expect(s.precisionOverall).toBeCloseTo(2 / 3);
    expect(s.checks.find((c) => c.name === 'honest orders held')?.ok).toBe(true);
    expect(s.checks.find((c) => c.name === 'recall card_testing')?.ok).toBe(false);
    // A pattern with no planted orders has no recall, which misses its target.
    expect(s.patterns.find((x) => x.pattern === 'velocity')?.recallOrders).toBeNull();
    expect(s.ok).toBe(false);
    expect(renderScore(s)).toContain(
      '| card_testing | 2 | 1 | 50.00% | 3 | 2 | 66.67% | 0/4 | 50.00% (1/2) |',
    );
  });

  it('counts an order without an observation as no outcome, and honest refusals as a fault', () => {
    const a = order({ pattern: 'honest' });
    const b = order({ pattern: 'honest' });
    const s = score([a, b], [seen(a, null, 'card_already_submitted')]);
    expect(s.confusion.honest).toEqual({ held: 0, passed: 0, refused: 1, unresolved: 1 });
    expect(s.honest.refused).toEqual({ card_already_submitted: 1 });
    expect(s.checks.find((c) => c.name.startsWith('honest orders refused'))?.ok).toBe(false);
    expect(s.rulesReported).toBe(false);
    expect(s.patterns.every((p) => p.precision === null)).toBe(true);
  });

  it('passes when every signature order is held and no honest one is', () => {
    const day = generateDay({ seed: 'score-test', orders: 1500 });
    const obs = day.orders.map((o) => seen(o, o.label.signature ? 'review' : 'settled'));
    const s = score(day.orders, obs);
    expect(s.ok).toBe(true);
    expect(s.patterns.every((p) => p.recallOrders === 1 && p.recallInstances === 1)).toBe(true);
  });
});
