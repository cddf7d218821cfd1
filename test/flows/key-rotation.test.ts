import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecrets, toKey } from '../../src/config/keys.js';
import { createOrderService, createOrderTransitions } from '../../src/modules/orders/index.js';
import { makeKeyring } from '../../src/shared/crypto.js';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

describe.each(storageTargets())('card master key rotation on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
  });
  afterAll(() => t.stop());

  it('re-wraps every data key under the new master key while intake goes on; cards open with the new key alone', async () => {
    const ch = await t.createChannel();
    const ids: string[] = [];
    const cards = new Map<string, { number: string; secret: string }>();
    for (let i = 0; i < 30; i++) {
      const body = mobileOrder();
      const res = await ch.client.post<{ id: string }>('/v1/orders', body);
      ids.push(res.body.id);
      cards.set(res.body.id, { number: body.card_number, secret: body.card_secret });
    }
    const oldRing = loadSecrets(t.ctx.config).cardKeys.current();
    const newKey = toKey(randomBytes(32).toString('base64'));
    let ring = makeKeyring(newKey, [...oldRing.all.values()]);
    const rotating = createOrderService({
      db: t.ctx.storage.db,
      committer: t.ctx.committer,
      clock: t.ctx.clock,
      cardKeys: { current: () => ring },
      cardHashKey: Buffer.alloc(32),
      pricing: t.ctx.pricing,
      cardTypes: t.ctx.cardTypes,
      transitions: createOrderTransitions({ events: t.ctx.events, priceOf: t.ctx.pricing.find }),
    });
    const [moved] = await Promise.all([
      rotating.rewrapAll(7),
      ch.client.post('/v1/orders', mobileOrder()), // the running service keeps taking cards meanwhile
    ]);
    expect(moved).toBeGreaterThanOrEqual(30); // the order taken meanwhile may be re-wrapped too
    const keyIds = await t.ctx.storage.db
      .selectFrom('orders')
      .select('card_key_id')
      .where('id', 'in', ids)
      .execute();
    expect(new Set(keyIds.map((k) => k.card_key_id))).toEqual(new Set([newKey.id]));

    ring = makeKeyring(newKey); // the old key is gone
    for (const id of ids) expect(await rotating.revealCard(id)).toEqual(cards.get(id));
  });
});
