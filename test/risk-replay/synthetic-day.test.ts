import { describe, expect, it } from 'vitest';
import { CITIES, distanceKm } from '../../bench/risk/cities.js';
import {
  generateDay,
  honestFaceStats,
  INTAKE_PATTERNS,
  PATTERNS,
  Prng,
} from '../../bench/risk/synthetic-day.js';
import { DEFAULT_PARAMS } from '../../src/modules/risk/model.js';

const y = (...v: number[]) => v.map((x) => x * 100);
/** The seeded catalogue's face values (migration 0002, docs/cards.md). */
const CATALOGUE: Record<string, number[]> = {
  cmcc_national: y(10, 20, 30, 50, 100, 200, 300, 500),
  cmcc_zhejiang: y(10, 20, 30, 50, 100, 200, 300, 500),
  cmcc_jiangsu: y(10, 20, 30, 50, 100, 200, 300, 500),
  cmcc_liaoning: y(10, 20, 30, 50, 100, 200, 300, 500),
  unicom_national: y(20, 30, 50, 100, 300, 500),
  telecom_national: y(50, 100),
  telecom_guangdong: y(50, 100),
  jd_ecard: y(50, 100, 200, 300, 500, 1000, 2000, 5000),
  supermarket_gift: y(100, 200, 500, 1000),
  sinopec_fuel: y(100, 200, 500, 1000),
};

const day = generateDay({ seed: 'day-test', orders: 4000 });
const HOUR = 3_600_000;

describe('synthetic day', () => {
  it('is deterministic: the same seed gives the same day, another seed another', () => {
    const again = generateDay({ seed: 'day-test', orders: 4000 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(day));
    expect(JSON.stringify(generateDay({ seed: 'other', orders: 4000 }).orders)).not.toBe(
      JSON.stringify(day.orders),
    );
    const a = new Prng('x');
    const b = new Prng('x');
    expect(Array.from({ length: 5 }, () => a.float())).toEqual(Array.from({ length: 5 }, () => b.float()));
  });

  it('has the requested orders inside one day, sorted, each retry after the try it waits for', () => {
    const dayOrders = day.orders.filter((o) => o.phase === 'day');
    expect(dayOrders.length).toBeGreaterThanOrEqual(4000);
    expect(dayOrders.length).toBeLessThan(4000 * 1.02);
    for (const o of dayOrders) {
      expect(o.at).toBeGreaterThanOrEqual(day.dayStart);
      expect(o.at).toBeLessThan(day.dayStart + 24 * HOUR + 15 * 60_000);
    }
    for (const o of day.orders.filter((x) => x.phase === 'history'))
      expect(o.at).toBeLessThan(day.dayStart - 24 * HOUR);
    for (let i = 1; i < day.orders.length; i++)
      expect((day.orders[i] as { at: number }).at).toBeGreaterThanOrEqual(
        (day.orders[i - 1] as { at: number }).at,
      );
    for (const o of day.orders) {
      expect(o.index).toBe(day.orders.indexOf(o));
      if (o.after !== null) {
        const prev = day.orders[o.after];
        expect(prev?.cardNumber).toBe(o.cardNumber);
        expect(o.after).toBeLessThan(o.index);
      }
    }
  });

  it('submits only face values the catalogue accepts (with the added ones), and a card is held by one live order at a time', () => {
    const faces = new Map<string, number[]>(Object.entries(CATALOGUE));
    for (const [code, extra] of Object.entries(day.extraFaceValues))
      faces.set(code, [...(faces.get(code) ?? []), ...extra]);
    for (const o of day.orders)
      expect(faces.get(o.cardType), `${o.cardType} ${o.declaredFaceValue}`).toContain(o.declaredFaceValue);
    const byNumber = new Map<string, number[]>();
    for (const o of day.orders) byNumber.set(o.cardNumber, [...(byNumber.get(o.cardNumber) ?? []), o.index]);
    const card = new Map(day.cards.map((c) => [c.number, c]));
    for (const [number, indices] of byNumber) {
      // Every try but the last carries a wrong secret (so it ends invalid and frees the card).
      for (const i of indices.slice(0, -1))
        expect(day.orders[i]?.submittedSecret).not.toBe(card.get(number)?.secret);
    }
    expect(new Set(day.orders.map((o) => `${o.channel}:${o.merchantOrderId}`)).size).toBe(day.orders.length);
  });

  it('plants every pattern with signature orders (rings apart), labelled consistently', () => {
    for (const p of PATTERNS) expect(day.summary.planted[p].instances).toBeGreaterThanOrEqual(5);
    for (const p of INTAKE_PATTERNS) expect(day.summary.planted[p].signatureOrders).toBeGreaterThan(0);
    expect(day.summary.planted.ring.signatureOrders).toBe(0);
    for (const o of day.orders) {
      if (o.label.pattern === 'honest') expect(o.label.signature).toBe(false);
      else expect(o.label.instance?.startsWith(`${o.label.pattern}#`)).toBe(true);
      if (o.channel === 'crypto') expect(o.blockchainAddress).toMatch(/^T[1-9A-HJ-NP-Za-km-z]{33}$/);
      else expect(o.blockchainAddress).toBeNull();
    }
  });

  it('builds each pattern so that its rule would catch exactly its signature orders', () => {
    const planted = (p: string) => day.orders.filter((o) => o.label.pattern === p);
    // Card testing: the 3rd and later tries of one number, the first three within 5 minutes.
    for (const o of planted('card_testing')) {
      const tries = day.orders.filter((x) => x.cardNumber === o.cardNumber && x.index <= o.index);
      expect(o.label.signature).toBe(tries.length >= 3);
      if (tries.length === 3) expect(o.at - (tries[0] as { at: number }).at).toBeLessThan(300_000);
    }
    // Structuring: 450,000–499,999 minor units, the 3rd and later of the seller that day.
    for (const o of planted('structuring')) {
      expect(o.declaredFaceValue).toBeGreaterThanOrEqual(450_000);
      expect(o.declaredFaceValue).toBeLessThan(500_000);
    }
    // New account, high value: younger than 7 days, over ¥1,000.
    for (const o of planted('new_account_high_value').filter((x) => x.label.signature)) {
      expect(o.at - o.userRegisteredAt).toBeLessThan(7 * 24 * HOUR);
      expect(o.declaredFaceValue).toBeGreaterThan(100_000);
    }
    // Amount anomaly: above mean + 3σ of the card type's honest faces, a value no honest order of
    // the type has, after 40 honest orders of the type on the channel that day.
    for (const o of planted('amount_anomaly').filter((x) => x.label.signature)) {
      const { mean, sd } = honestFaceStats(o.cardType);
      expect(o.declaredFaceValue).toBeGreaterThan(mean + 3 * sd);
      const honestOfType = day.orders.filter(
        (x) => x.label.pattern === 'honest' && x.cardType === o.cardType,
      );
      expect(honestOfType.map((x) => x.declaredFaceValue)).not.toContain(o.declaredFaceValue);
      const before = honestOfType.filter((x) => x.phase === 'day' && x.channel === o.channel && x.at < o.at);
      expect(before.length).toBeGreaterThanOrEqual(40);
    }
    // Device mismatch: the signature's device was never seen with the seller before.
    for (const o of planted('device_mismatch').filter((x) => x.label.signature)) {
      const before = day.orders.filter((x) => x.sellerId === o.sellerId && x.index < o.index);
      expect(before.length).toBeGreaterThan(0);
      expect(before.map((x) => x.deviceId)).not.toContain(o.deviceId);
    }
    // Velocity: a signature order is past one of the engine's default limits in the hour before it (inclusive) on one subject, or in the day.
    for (const o of planted('velocity').filter((x) => x.label.signature)) {
      const same = planted('velocity').filter(
        (x) => x.label.instance === o.label.instance && x.index <= o.index,
      );
      const hour = same.filter((x) => x.at > o.at - HOUR);
      const sum = hour.reduce((s, x) => s + x.declaredFaceValue, 0);
      const v = DEFAULT_PARAMS.velocity;
      expect(hour.length > v.hour.orders || sum > v.hour.amount || same.length > v.day.orders).toBe(true);
    }
  });

  it('keeps honest sellers in one city, and the geo jumps further than 500 km within 6 hours', () => {
    const cityOf = (ip: string) => CITIES.find((c) => c.ranges.some((r) => inCidr(ip, r)))?.code;
    const honestCities = new Map<string, Set<string | undefined>>();
    for (const o of day.orders.filter((x) => x.label.pattern === 'honest'))
      honestCities.set(o.sellerId, (honestCities.get(o.sellerId) ?? new Set()).add(cityOf(o.clientIp)));
    for (const cities of honestCities.values()) {
      expect(cities.size).toBe(1);
      expect([...cities][0]).toBeDefined();
    }
    for (const o of day.orders.filter((x) => x.label.pattern === 'geo_jump' && x.label.signature)) {
      const prev = day.orders.filter((x) => x.sellerId === o.sellerId && x.index < o.index).at(-1);
      const from = CITIES.find((c) => c.code === cityOf(prev?.clientIp ?? ''));
      const to = CITIES.find((c) => c.code === cityOf(o.clientIp));
      expect(from && to && distanceKm(from, to)).toBeGreaterThan(500);
      expect(o.at - (prev?.at ?? 0)).toBeLessThan(6 * HOUR);
    }
  });
});

function inCidr(ip: string, cidr: string): boolean {
  const num = (a: string) => a.split('.').reduce((n, p) => n * 256 + Number(p), 0);
  const [base, len] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(len));
  return Math.floor(num(ip) / size) === Math.floor(num(base) / size);
}
