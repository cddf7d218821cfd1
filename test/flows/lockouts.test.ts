import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import { routeCardTypesTo } from '../../src/main/demo.js';
import type { LockoutView } from '../../src/modules/lockouts/index.js';
import type { OrderView } from '../../src/modules/orders/index.js';
import type { SimCard } from '../../src/simulators/card-base.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { ShiftedClock } from '../harness/clock.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { cardTaker } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

/**
 * Card lockouts end to end (docs/security.md#card-lockouts-and-what-answers-reveal): signed intake →
 * verify job → issuer simulator → order.invalid → the lockouts subscriber, with a clock moved on.
 */
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A redeemed card is booked at once and may be paid: each is "redeemed" here. */
const REDEEMED = ['redeemed', 'settled', 'paid'];

/** The card's secret with its last character changed to another digit: right format, wrong secret. */
const wrongSecret = (card: SimCard, n = 1) => {
  const digit = String(n % 10);
  return card.secret.slice(0, -1) + (digit === card.secret.at(-1) ? String((n + 1) % 10) : digit);
};

describe.each(storageTargets())('card lockouts on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let client: RecardClient;
  let other: RecardClient;
  const clock = new ShiftedClock();
  const take = cardTaker(() => sims);
  let serial = 0;

  // Clients sign with the server's (shifted) clock, so the clock can move by days.
  const clientOf = (ch: { id: string; secret: string }) =>
    new RecardClient({
      baseUrl: t.url,
      channelId: ch.id,
      secret: ch.secret,
      nowSeconds: () => Math.floor(clock.now() / 1000),
    });
  const submit = (card: SimCard, secret: string, extra: Record<string, unknown> = {}, c = client) =>
    c.post<OrderView & { error?: { code: string } }>('/v1/orders', {
      merchant_order_id: `mo-${++serial}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 'seller-main' },
      ...extra,
    });
  /** Waits for the order's end of verification and for every subscriber delivery to have run. */
  const settle = async (id: string, c = client) => {
    const o = await waitFor(
      async () => {
        const got = (await c.get<OrderView>(`/v1/orders/${id}`)).body;
        return got.status !== 'submitted' && got.status !== 'verifying' ? got : undefined;
      },
      15_000,
      `order ${id} to settle`,
    );
    await waitFor(async () => {
      const open = await t.ctx.storage.db
        .selectFrom('jobs')
        .select('id')
        .where('kind', '=', 'events.lockouts')
        .where('state', 'in', ['available', 'running'])
        .executeTakeFirst();
      return open === undefined;
    });
    return o;
  };
  /** A wrong-secret try that is taken in and found invalid by the issuer. */
  const wrongTry = async (card: SimCard, extra: Record<string, unknown> = {}, n = 1, c = client) => {
    const res = await submit(card, wrongSecret(card, n), extra, c);
    expect(res.status).toBe(201);
    const o = await settle(res.body.id, c);
    expect(o).toMatchObject({ status: 'invalid', reason: 'wrong_secret' });
  };
  const locks = async () =>
    (await t.admin('GET', '/admin/v1/lockouts')).body as unknown as { data: LockoutView[] };
  const ordersOf = (card: SimCard) =>
    t.ctx.storage.db
      .selectFrom('orders')
      .select(['id', 'status'])
      .where('card_last4', '=', card.number.slice(-4))
      .where('card_type', '=', card.cardType)
      .execute();

  beforeAll(async () => {
    sims = await startSimulators({ seed: `lockouts-${target.name}`, perLabel: { valid: 40 } });
    t = await startTestServer(target, {
      clock,
      config: {
        workerConcurrency: 16,
        lockoutSellerWrongSecrets: 3,
        lockoutDeviceWrongSecrets: 3,
        lockoutIpWrongSecrets: 3,
      },
    });
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
    client = clientOf(await t.createChannel({ name: 'Shop' }));
    other = clientOf(await t.createChannel({ name: 'Other shop' }));
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await sims?.close();
  });

  it('the measured probe: many wrong secrets on one card, then the right one, is refused and never redeemed', async () => {
    const card = take('cmcc_national', 'valid');
    const seller = { seller: { id: 'prober' } };
    // Three tries in five minutes pass (each is found invalid); the third locks the card.
    for (let i = 1; i <= 3; i++) await wrongTry(card, seller, i);
    const answers: number[] = [];
    for (let i = 4; i <= 40; i++) {
      const res = await submit(card, wrongSecret(card, i), seller, i % 2 ? client : other);
      answers.push(res.status);
      expect(res.body.error?.code).toBe('card_locked');
    }
    expect(new Set(answers)).toEqual(new Set([422]));
    const right = await submit(card, card.secret, seller);
    expect(right.status).toBe(422);
    expect(right.body.error).toMatchObject({ code: 'card_locked', field: 'card_number' });
    const rows = await ordersOf(card);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.status === 'invalid')).toBe(true);
    // The issuer was never asked to redeem it.
    const lock = (await locks()).data.find((l) => l.subject.endsWith(card.number.slice(-4)));
    expect(lock).toMatchObject({ subject_kind: 'card', reason: 'tries', state: 'active' });
  }, 60_000);

  it('counts tries of a card from every channel and refusal; an idempotent replay is not a try', async () => {
    const card = take('cmcc_national', 'valid');
    const first = await submit(card, card.secret);
    expect(first.status).toBe(201);
    const replayed = {
      merchant_order_id: `mo-${serial}`,
      card_type: card.cardType,
      card_number: card.number,
      card_secret: card.secret,
      declared_face_value: card.declaredFaceValue,
      seller: { id: 'seller-main' },
    };
    for (let i = 0; i < 4; i++) expect((await client.post('/v1/orders', replayed)).status).toBe(200);
    // Try 2: a duplicate from another channel; try 3: a wrong secret format. Both refused, both counted.
    const dup = await submit(card, card.secret, {}, other);
    expect(dup.body).toMatchObject({ error: { code: 'card_already_submitted' } });
    const badFormat = await submit(card, '123456');
    expect(badFormat.body).toMatchObject({ error: { code: 'invalid_card_secret' } });
    const fourth = await submit(card, card.secret, {}, other);
    expect(fourth.status).toBe(422);
    expect(fourth.body).toMatchObject({ error: { code: 'card_locked' } });
    // A number that is not readable (wrong check digit) is no try of any card.
    const unreadable = await submit({ ...card, number: `${card.number.slice(0, -1)}x` }, card.secret);
    expect(unreadable.body).toMatchObject({ error: { code: 'invalid_card_number' } });
    // The replay still answers its first order.
    expect((await client.post('/v1/orders', replayed)).status).toBe(200);
  });

  it('five wrong secrets in 24 h lock a card even when the tries are spread out; the lock ends after 24 h', async () => {
    const card = take('telecom_guangdong', 'valid');
    // A seller each time: the card collects the wrong secrets, no seller reaches its threshold.
    const seller = { seller: { id: 'slow-prober' } };
    for (let i = 1; i <= 5; i++) {
      await wrongTry(card, { seller: { id: `slow-prober-${i}` } }, i);
      clock.advance(6 * MINUTE);
    }
    const refused = await submit(card, card.secret, seller);
    expect(refused.body).toMatchObject({ error: { code: 'card_locked' } });
    const lock = (await locks()).data.find((l) => l.subject.endsWith(card.number.slice(-4)));
    expect(lock).toMatchObject({ subject_kind: 'card', reason: 'wrong_secrets' });

    clock.advance(DAY);
    const after = await submit(card, card.secret, seller);
    expect(after.status).toBe(201);
    expect(REDEEMED).toContain((await settle(after.body.id)).status);
    expect((await locks()).data.find((l) => l.id === lock?.id)).toBeUndefined();
  }, 60_000);

  it('an admin sees the lock with the number masked and releases it: the card goes through', async () => {
    const card = take('jd_ecard', 'valid');
    const seller = { seller: { id: 'forgetful' } };
    for (let i = 1; i <= 3; i++) await wrongTry(card, { seller: { id: `forgetful-${i}` } }, i);
    expect((await submit(card, card.secret, seller)).body).toMatchObject({ error: { code: 'card_locked' } });

    const listed = await t.admin('GET', '/admin/v1/lockouts?subject_kind=card');
    expect(listed.status).toBe(200);
    expect(listed.text).not.toContain(card.number);
    const lock = (listed.body as unknown as { data: LockoutView[] }).data.find((l) =>
      l.subject.endsWith(card.number.slice(-4)),
    );
    expect(lock?.subject).toBe(`jd_ecard ${'*'.repeat(card.number.length - 4)}${card.number.slice(-4)}`);

    const released = await t.admin('POST', `/admin/v1/lockouts/${lock?.id}/release`);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ id: lock?.id, state: 'released' });
    expect((await t.admin('POST', `/admin/v1/lockouts/${lock?.id}/release`)).status).toBe(200);
    expect((await t.admin('POST', '/admin/v1/lockouts/lck_00000000000000000000000000/release')).status).toBe(
      404,
    );

    const res = await submit(card, card.secret, seller);
    expect(res.status).toBe(201);
    expect(REDEEMED).toContain((await settle(res.body.id)).status);
  }, 60_000);

  it.each([
    ['seller', 'bad-seller', (_i: number) => ({ seller: { id: 'bad-seller' } })],
    ['device', 'dev-42', (i: number) => ({ seller: { id: `dev-seller-${i}` }, device_id: 'dev-42' })],
    ['ip', '203.0.113.7', (i: number) => ({ seller: { id: `ip-seller-${i}` }, client_ip: '203.0.113.7' })],
  ] as const)(
    'wrong secrets are counted per %s: past the threshold its cards are refused',
    async (kind, who, subject) => {
      // Different cards each time: no card is tried twice, yet the subject collects wrong secrets.
      for (let i = 1; i <= 3; i++) {
        // An IPv4 address written as IPv4-mapped IPv6 is the same address.
        const spelled = kind === 'ip' && i === 2 ? { client_ip: '::ffff:203.0.113.7' } : {};
        await wrongTry(take('cmcc_national', 'valid'), { ...subject(i), ...spelled }, 1, client);
      }
      const good = take('cmcc_national', 'valid');
      const refused = await submit(good, good.secret, subject(4));
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ error: { code: 'too_many_wrong_secrets' } });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(DAY / 1000 - 60);
      const blocked = (await locks()).data.filter((l) => l.subject_kind === kind && l.subject.includes(who));
      expect(blocked).toHaveLength(1);
      expect(blocked[0]?.reason).toBe('wrong_secrets');
      // The same card from someone else is taken.
      const fine = await submit(good, good.secret, { seller: { id: `fine-${kind}` } });
      expect(fine.status).toBe(201);
      // Sellers, devices and IPs are the channel's word: another channel's are counted apart, so
      // one channel cannot lock an address out of the others.
      const elsewhere = take('cmcc_national', 'valid');
      const theirs = await submit(elsewhere, elsewhere.secret, subject(5), other);
      expect(theirs.status).toBe(201);
    },
    60_000,
  );

  it('ten concurrent tries of one card: three get past the guard, the lock appears once', async () => {
    const card = take('unicom_national', 'valid');
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        submit(card, card.secret, { seller: { id: 'racer' } }, i % 2 ? client : other),
      ),
    );
    const codes = answers.map((a) => (a.status === 201 ? 'created' : a.body.error?.code)).sort();
    expect(codes).toEqual([
      'card_already_submitted',
      'card_already_submitted',
      ...Array(7).fill('card_locked'),
      'created',
    ]);
    const cardLocks = (await locks()).data.filter((l) => l.subject.endsWith(card.number.slice(-4)));
    expect(cardLocks).toHaveLength(1);
  }, 60_000);
});
