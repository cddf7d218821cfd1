import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TTL_MS } from '../../src/modules/idempotency/index.js';
import { type RawResponse, rawCall, send } from '../harness/http.js';
import { mobileOrder } from '../harness/orders.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

type Channel = Awaited<ReturnType<TestServer['createChannel']>>;

describe.each(storageTargets())('Idempotency-Key on $name', (target) => {
  let t: TestServer;
  let ch: Channel;
  let other: Channel;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    ch = await t.createChannel();
    other = await t.createChannel();
  });
  afterAll(() => t.stop());

  const post = (c: Channel, path: string, body: string, key?: string) =>
    rawCall(t.url, {
      channelId: c.id,
      secret: c.secret,
      method: 'POST',
      path,
      body,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });
  const adminPost = (path: string, body: unknown, key: string) =>
    send(
      t.url,
      'POST',
      path,
      {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      JSON.stringify(body),
    );
  const count = async (table: 'orders' | 'idempotency_keys' | 'card_types') => (await t.counts())[table] ?? 0;
  const newKey = () => `key-${Math.random().toString(36).slice(2)}`;

  it('a repeat with the same key and body gets the stored answer, and nothing is done twice', async () => {
    const key = newKey();
    const body = JSON.stringify(mobileOrder());
    const before = await count('orders');
    const first = await post(ch, '/v1/orders', body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(ch, '/v1/orders', body, key);
    // Without the key a repeat of merchant_order_id answers 200; with it, the very first answer.
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(await count('orders')).toBe(before + 1);
  });

  it('the same key with another body, or on another path, is 422 idempotency_key_reused', async () => {
    const key = newKey();
    const order = mobileOrder();
    expect((await post(ch, '/v1/orders', JSON.stringify(order), key)).status).toBe(201);
    await expectRefusal(
      t,
      () => post(ch, '/v1/orders', JSON.stringify({ ...order, declared_face_value: 5_000 }), key),
      {
        status: 422,
        code: 'idempotency_key_reused',
        field: 'idempotency-key',
        nonceSpent: true,
      },
    );
    // The same bytes sent as a differently spaced document are another body: the raw bytes are compared.
    await expectRefusal(t, () => post(ch, '/v1/orders', JSON.stringify(order, null, 1), key), {
      status: 422,
      code: 'idempotency_key_reused',
      nonceSpent: true,
    });
    // The same body on another path: another channel's rotation.
    const [a, b] = [(await t.createChannel()).id, (await t.createChannel()).id];
    const adminKey = newKey();
    const rotate = { kind: 'webhook' };
    expect((await adminPost(`/admin/v1/channels/${a}/secrets/rotate`, rotate, adminKey)).status).toBe(200);
    await expectRefusal(t, () => adminPost(`/admin/v1/channels/${b}/secrets/rotate`, rotate, adminKey), {
      status: 422,
      code: 'idempotency_key_reused',
    });
  });

  it("keys are the caller's own: another channel's same key is another request", async () => {
    const key = newKey();
    const before = await count('orders');
    expect((await post(ch, '/v1/orders', JSON.stringify(mobileOrder()), key)).status).toBe(201);
    const theirs = await post(other, '/v1/orders', JSON.stringify(mobileOrder()), key);
    expect(theirs.status, theirs.text).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(await count('orders')).toBe(before + 2);
  });

  it('concurrent requests with one key: exactly one executes, the others get 409 in flight or the replay', async () => {
    const key = newKey();
    const body = JSON.stringify(mobileOrder());
    const before = await count('orders');
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(ch, '/v1/orders', body, key)));
    const executed = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
    expect(executed).toHaveLength(1);
    for (const a of answers.filter((x) => !executed.includes(x))) {
      if (a.status === 409) expect(a.body.error?.code).toBe('idempotency_request_in_flight');
      else {
        expect(a.status).toBe(201);
        expect(a.headers.get('idempotent-replayed')).toBe('true');
        expect(a.text).toBe(executed[0]?.text);
      }
    }
    expect(await count('orders')).toBe(before + 1);
  });

  it('an admin create is replayed too, not refused as a duplicate', async () => {
    const key = newKey();
    const type = {
      code: `idem_${target.name}`,
      name: 'Idempotent type',
      issuer: 'idem',
      category: 'supermarket_gift',
      number_pattern: '^\\d{16}$',
      secret_pattern: '^\\d{8}$',
      checksum: 'none',
      face_values: [10_000],
      currency: 'CNY',
    };
    const first = await adminPost('/admin/v1/card-types', type, key);
    expect(first.status).toBe(201);
    const again = await adminPost('/admin/v1/card-types', type, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    // Without the key, the same create is the documented conflict.
    expect((await t.admin('POST', '/admin/v1/card-types', type)).status).toBe(409);
  });

  it('a 5xx is not stored: the key is released and a retry executes', async () => {
    const key = newKey();
    const body = '{"url":"https://merchant.example/cb"}';
    await sql`alter table callback_tests rename to callback_tests_away`.execute(t.ctx.storage.db);
    let failed: RawResponse;
    try {
      failed = await post(ch, '/v1/callback-tests', body, key);
    } finally {
      await sql`alter table callback_tests_away rename to callback_tests`.execute(t.ctx.storage.db);
    }
    expect(failed.status).toBe(500);
    const retry = await post(ch, '/v1/callback-tests', body, key);
    expect(retry.status, retry.text).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const replay = await post(ch, '/v1/callback-tests', body, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(retry.text);
  });

  it('a request refused before its handler (validation) stores nothing; the key stays free', async () => {
    const key = newKey();
    await expectRefusal(t, () => post(ch, '/v1/orders', '{"card_type":1}', key), {
      status: 400,
      code: 'invalid_request',
      nonceSpent: true,
    });
    const ok = await post(ch, '/v1/orders', JSON.stringify(mobileOrder()), key);
    expect(ok.status).toBe(201);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });

  it.each([
    ['longer than 255 characters', 'k'.repeat(256)],
    ['not printable ASCII', 'clé-1'],
  ])('a key %s is 400 invalid_request naming the header, and stores nothing', async (_label, key) => {
    await expectRefusal(t, () => post(ch, '/v1/orders', JSON.stringify(mobileOrder()), key), {
      status: 400,
      code: 'invalid_request',
      field: 'idempotency-key',
      nonceSpent: true,
    });
  });

  it('a claim whose process died blocks only until its lease ends', async () => {
    const body = JSON.stringify(mobileOrder());
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const now = Date.now();
    const claim = (key: string, lockedUntil: number) =>
      t.ctx.storage.db
        .insertInto('idempotency_keys')
        .values({
          scope: `channel:${ch.id}`,
          key,
          method: 'POST',
          path: '/v1/orders',
          body_hash: bodyHash,
          claim: 'dead-process',
          status: null,
          response: null,
          locked_until: lockedUntil,
          expires_at: now + IDEMPOTENCY_TTL_MS,
          created_at: now - 120_000,
        })
        .execute();
    const live = newKey();
    await claim(live, now + 60_000);
    const blocked = await post(ch, '/v1/orders', body, live);
    expect(blocked.status).toBe(409);
    expect(blocked.body.error?.code).toBe('idempotency_request_in_flight');
    const dead = newKey();
    await claim(dead, now - 1);
    const taken = await post(ch, '/v1/orders', body, dead);
    expect(taken.status, taken.text).toBe(201);
    expect(taken.headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers expire after 24 h: pruned by the idempotency.prune job, and an expired key is free again', async () => {
    expect(t.ctx.schedules.map((s) => s.spec.kind)).toContain('idempotency.prune');
    expect(t.ctx.jobHandlers.map((h) => h.spec.kind)).toContain('idempotency.prune');
    const key = newKey();
    const body = JSON.stringify(mobileOrder());
    expect((await post(ch, '/v1/orders', body, key)).status).toBe(201);
    await t.ctx.storage.db
      .updateTable('idempotency_keys')
      .set({ expires_at: Date.now() - 1 })
      .where('key', '=', key)
      .execute();
    // Before the prune has run, the expired answer is not replayed: the order's own idempotency answers.
    const later = await post(ch, '/v1/orders', body, key);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(later.status).toBe(200);
    await t.ctx.storage.db
      .updateTable('idempotency_keys')
      .set({ expires_at: Date.now() - 1 })
      .where('key', '=', key)
      .execute();
    expect(await t.ctx.idempotency.prune()).toBeGreaterThanOrEqual(1);
    const left = await t.ctx.storage.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', '=', key)
      .execute();
    expect(left).toEqual([]);
  });

  it('stored answers are sealed at rest (a rotated secret is not kept in clear)', async () => {
    const key = newKey();
    const spare = await t.createChannel();
    const res = await adminPost(`/admin/v1/channels/${spare.id}/secrets/rotate`, { kind: 'webhook' }, key);
    expect(res.status).toBe(200);
    const row = await t.ctx.storage.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe(200);
    const secret = (res.body as { secret?: string }).secret ?? '';
    expect(secret.length).toBeGreaterThan(0);
    expect(row.response).not.toContain(secret);
  });

  it('the OpenAPI document offers the header on every POST of both APIs', async () => {
    const doc = (await send(t.url, 'GET', '/openapi.json')).body as unknown as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
    };
    const posts = Object.entries(doc.paths).flatMap(([path, ops]) =>
      ops.post && (path.startsWith('/v1/') || path.startsWith('/admin/v1/'))
        ? [[path, ops.post] as const]
        : [],
    );
    expect(posts.length).toBeGreaterThan(10);
    for (const [path, op] of posts)
      expect(
        op.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
        path,
      ).toBe(true);
  });
});
