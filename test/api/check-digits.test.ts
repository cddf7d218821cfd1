import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gtinValid, luhnValid } from '../../src/modules/cards/index.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/** A 13-digit number whose last digit is its GTIN check digit, computed here on its own. */
function gtin13(first12: string): string {
  const sum = [...first12].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return first12 + String((10 - (sum % 10)) % 10);
}

/** The check digits of the catalogue are enforced at intake, not only in the format module. */
describe.each(storageTargets())('check digits at intake on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    ch = await t.createChannel({ name: 'Fuel shop' });
  });
  afterAll(() => t.stop());

  const fuelOrder = (cardNumber: string, id: string) => ({
    merchant_order_id: id,
    card_type: 'sinopec_fuel', // GTIN-checked in the seeded catalogue
    card_number: cardNumber,
    card_secret: '1234567890123456',
    declared_face_value: 10_000,
    seller: { id: 's1' },
  });

  it('a GTIN card with a wrong check digit is refused, with nothing written; the right one is taken', async () => {
    const good = gtin13('690123456789');
    expect(gtinValid(good)).toBe(true);
    const bad = `${good.slice(0, 12)}${(Number(good[12]) + 1) % 10}`;
    expect(gtinValid(bad)).toBe(false);
    const res = await expectRefusal(t, () => ch.client.post('/v1/orders', fuelOrder(bad, 'gtin-bad')), {
      status: 400,
      code: 'invalid_card_number',
      field: 'card_number',
      nonceSpent: true,
    });
    expect(JSON.stringify(res.body)).toMatch(/check digit/);
    expect((await ch.client.post('/v1/orders', fuelOrder(good, 'gtin-good'))).status).toBe(201);
  });

  it('a Luhn card (supermarket gift) with a wrong check digit is refused too', async () => {
    const first18 = '621234567890123456';
    const sum = [...first18].reverse().reduce((acc, d, i) => {
      const n = Number(d) * (i % 2 === 0 ? 2 : 1);
      return acc + (n > 9 ? n - 9 : n);
    }, 0);
    const good = first18 + String((10 - (sum % 10)) % 10);
    expect(luhnValid(good)).toBe(true);
    const bad = `${first18}${(Number(good[18]) + 1) % 10}`;
    const order = (n: string, id: string) => ({
      merchant_order_id: id,
      card_type: 'supermarket_gift',
      card_number: n,
      card_secret: '123456',
      declared_face_value: 10_000,
      seller: { id: 's1' },
    });
    await expectRefusal(t, () => ch.client.post('/v1/orders', order(bad, 'luhn-bad')), {
      status: 400,
      code: 'invalid_card_number',
      field: 'card_number',
      nonceSpent: true,
    });
    expect((await ch.client.post('/v1/orders', order(good, 'luhn-good'))).status).toBe(201);
  });
});
