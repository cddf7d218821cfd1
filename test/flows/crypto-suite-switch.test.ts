import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import type { Config } from '../../src/config/schema.js';
import type { OrderView } from '../../src/modules/orders/model.js';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { type StorageTarget, storageTargets, type TestLocation } from '../harness/storage.js';

type Err = { error: { code: string; field?: string } };

/**
 * One database and one set of keys, served first under the standard suite, then restarted under gm,
 * then back: nothing written under one suite is lost or taken twice under the other.
 */
describe.each(storageTargets())('switching RECARD_CRYPTO_SUITE on $name', (target) => {
  const hashKey = randomBytes(32);
  const keys: Partial<Config> = {
    cardHashKey: hashKey.toString('base64'),
    cardMasterKey: randomBytes(32).toString('base64'),
  };
  let loc: TestLocation;
  // Every start gets the same database: its own stop leaves it for the next.
  const same: StorageTarget = { name: target.name, fresh: async () => ({ ...loc, destroy: async () => {} }) };
  const start = (cryptoSuite: Config['cryptoSuite']) =>
    startTestServer(same, { worker: false, config: { ...keys, cryptoSuite } });

  beforeAll(async () => {
    loc = await target.fresh();
  });
  afterAll(() => loc.destroy());

  const keyed = (alg: string, text: string) => createHmac(alg, hashKey).update(text).digest('hex');
  const rowOf = (t: TestServer, id: string) =>
    t.ctx.storage.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('a card taken under one suite is a duplicate under the other, in both directions', async () => {
    const standard = await start('standard');
    let channel: { id: string; secret: string };
    const first = mobileOrder();
    let firstId: string;
    try {
      // HMAC under either suite: SHA-256 under standard, SM3 under gm (docs/crypto-suites.md).
      const ch = await standard.createChannel({ auth: { schemes: ['HMAC-SHA256', 'HMAC-SM3'] } });
      channel = { id: ch.id, secret: ch.secret };
      const res = await ch.client.post<OrderView>('/v1/orders', first);
      expect(res.status).toBe(201);
      firstId = res.body.id;
      const row = await rowOf(standard, firstId);
      expect(row.card_hash).toBe(keyed('sha256', `cmcc_national:${first.card_number}`));
      expect(row.card_ciphertext?.startsWith('v1.')).toBe(true);
    } finally {
      await standard.stop();
    }

    const gm = await start('gm');
    const second = mobileOrder();
    let secondId: string;
    try {
      expect(gm.ctx.suite.name).toBe('gm');
      // The channel secret was sealed with AES-GCM; the gm process still opens it to check signatures.
      const client = new RecardClient({
        baseUrl: gm.url,
        channelId: channel.id,
        secret: channel.secret,
        signer: { type: 'HMAC-SM3', sign: (m) => createHmac('sm3', channel.secret).update(m).digest('hex') },
      });
      // The gm suite takes only GM signatures, whatever the channel lists.
      const sha = new RecardClient({ baseUrl: gm.url, channelId: channel.id, secret: channel.secret });
      const refused = await sha.get<Err>('/v1/channel');
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('sign_type_not_allowed');
      const again = await client.post<Err>('/v1/orders', { ...first, merchant_order_id: 'another-id' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('card_already_submitted');
      // A repeat of the first request is recognised by its standard-suite request hash.
      const replay = await client.post<OrderView>('/v1/orders', first);
      expect(replay.status).toBe(200);
      expect(replay.body.id).toBe(firstId);
      expect((await client.post<Err>('/v1/orders', { ...first, declared_face_value: 5000 })).status).toBe(
        409,
      );
      expect(await gm.ctx.orders.revealCard(firstId)).toEqual({
        number: first.card_number,
        secret: first.card_secret,
      });

      const res = await client.post<OrderView>('/v1/orders', second);
      expect(res.status).toBe(201);
      secondId = res.body.id;
      const row = await rowOf(gm, secondId);
      expect(row.card_hash).toBe(keyed('sm3', `cmcc_national:${second.card_number}`));
      expect(row.card_wrapped_key?.startsWith('v2.')).toBe(true);
      expect(row.card_ciphertext?.startsWith('v2.')).toBe(true);
    } finally {
      await gm.stop();
    }

    const back = await start('standard');
    try {
      const client = new RecardClient({ baseUrl: back.url, channelId: channel.id, secret: channel.secret });
      const dup = await client.post<Err>('/v1/orders', { ...second, merchant_order_id: 'yet-another-id' });
      expect(dup.status).toBe(409);
      expect(dup.body.error.code).toBe('card_already_submitted');
      const replay = await client.post<OrderView>('/v1/orders', second);
      expect(replay.status).toBe(200);
      expect(replay.body.id).toBe(secondId);
      expect(await back.ctx.orders.revealCard(secondId)).toEqual({
        number: second.card_number,
        secret: second.card_secret,
      });
    } finally {
      await back.stop();
    }
  }, 120_000);
});
