import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../harness/http.js';
import { jdRestRoute } from '../harness/issuer-route.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

const WIDTH = 20;
const ROUNDS = 5;

/**
 * Admin writes raced by concurrent callers: each PUT is idempotent (an upsert) and each create
 * either wins or gets its documented 4xx — never a 500 from a unique constraint.
 */
describe.each(storageTargets())('concurrent admin writes on $name', (target) => {
  let t: TestServer;
  let channelId = '';
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    channelId = (await t.createChannel()).id;
  });
  afterAll(() => t.stop());

  /** WIDTH requests at once, ROUNDS times: every answer's status. */
  async function race(call: (i: number) => Promise<RawResponse>): Promise<RawResponse[]> {
    const all: RawResponse[] = [];
    for (let round = 0; round < ROUNDS; round++)
      all.push(...(await Promise.all(Array.from({ length: WIDTH }, (_, i) => call(round * WIDTH + i)))));
    return all;
  }
  const statuses = (answers: RawResponse[]) => [...new Set(answers.map((a) => a.status))].sort();
  const no5xx = (answers: RawResponse[]) =>
    expect(
      answers.filter((a) => a.status >= 500).map((a) => a.text),
      'no answer is a 5xx',
    ).toEqual([]);

  it('PUT /admin/v1/fx-rates/{base}/{quote}: every answer 200, one rate stored per moment', async () => {
    const answers = await race(() =>
      t.admin('PUT', '/admin/v1/fx-rates/USDT/CNY', { rate: '7.2500', valid_for_s: 600 }),
    );
    no5xx(answers);
    expect(statuses(answers)).toEqual([200]);
    for (const a of answers) expect(a.body).toMatchObject({ base: 'USDT', quote: 'CNY', rate: '7.2500' });
    const listed = (await t.admin('GET', '/admin/v1/fx-rates')).body.data as {
      source: string;
      rate: string;
    }[];
    expect(listed.find((r) => r.source === 'manual')?.rate).toBe('7.2500');
  });

  it('PUT /admin/v1/channel-groups/{id}: idempotent, the first creation time kept', async () => {
    const answers = await race((i) =>
      t.admin('PUT', '/admin/v1/channel-groups/agents-race', { name: `n${i % 3}` }),
    );
    no5xx(answers);
    expect(statuses(answers)).toEqual([200]);
    expect(new Set(answers.map((a) => a.body.created_at)).size).toBe(1);
  });

  it('PUT /admin/v1/issuer-routes/{id} and /admin/v1/issuer-codes/{issuer}/{code}: idempotent', async () => {
    const route = jdRestRoute('race-secret');
    const routes = await race((i) =>
      t.admin('PUT', '/admin/v1/issuer-routes/jd_race', { ...route, priority: 1 + (i % 3) }),
    );
    no5xx(routes);
    expect(statuses(routes)).toEqual([200]);
    expect(new Set(routes.map((a) => a.body.created_at)).size).toBe(1);
    const codes = await race(() =>
      t.admin('PUT', '/admin/v1/issuer-codes/jd/R1', { reason: 'card_invalid', description: 'raced' }),
    );
    no5xx(codes);
    expect(statuses(codes)).toEqual([200]);
  });

  it('PUT /admin/v1/rate-adjustments/{card_type}: idempotent', async () => {
    const policy = {
      enabled: true,
      window_s: 600,
      min_orders: 4,
      failure_rate_bps: 5_000,
      review_rate_bps: 5_000,
      step_bps: 300,
      floor_bps: 9_350,
      ceiling_bps: 10_000,
    };
    const answers = await race(() => t.admin('PUT', '/admin/v1/rate-adjustments/cmcc_zhejiang', policy));
    no5xx(answers);
    expect(statuses(answers)).toEqual([200]);
  });

  it('POST /admin/v1/card-types with one code: one 201, the others 409 card_type_exists', async () => {
    const answers = await Promise.all(
      Array.from({ length: WIDTH }, () =>
        t.admin('POST', '/admin/v1/card-types', {
          code: 'race_gift',
          name: 'Race gift',
          issuer: 'race',
          category: 'supermarket_gift',
          number_pattern: '^\\d{16}$',
          secret_pattern: '^\\d{8}$',
          checksum: 'none',
          face_values: [10_000],
          currency: 'CNY',
        }),
      ),
    );
    no5xx(answers);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 201))
      expect(a.body.error?.code).toBe('card_type_exists');
  });

  it('creates that make new objects (rate sheets, webhook endpoints, channels) all succeed', async () => {
    const sheets = await race(() =>
      t.admin('POST', '/admin/v1/rates', {
        tier: 'default',
        card_type: 'cmcc_national',
        kind: 'fixed',
        ranges: [{ face_min: 1, face_max: 100_000_000, bps: 9_000 }],
      }),
    );
    no5xx(sheets);
    const endpoints = await Promise.all(
      Array.from({ length: WIDTH }, (_, i) =>
        t.admin('POST', '/admin/v1/webhook-endpoints', {
          channel_id: channelId,
          url: `http://127.0.0.1:9/race-${i}`,
          event_types: ['*'],
        }),
      ),
    );
    no5xx(endpoints);
    expect(statuses(endpoints)).toEqual([201]);
    const channels = await Promise.all(
      Array.from({ length: WIDTH }, (_, i) =>
        t.admin('POST', '/admin/v1/channels', { name: `race ${i}`, kind: 'merchant' }),
      ),
    );
    no5xx(channels);
  });

  it('a unique-constraint violation that escapes a service is 409 conflict, not 500', async () => {
    // A rule the service does not know about: the database refuses the second write of one URL.
    await sql`create unique index race_endpoint_url on webhook_endpoints (url)`.execute(t.ctx.storage.db);
    try {
      const answers = await Promise.all(
        Array.from({ length: WIDTH }, () =>
          t.admin('POST', '/admin/v1/webhook-endpoints', {
            channel_id: channelId,
            url: 'http://127.0.0.1:9/one-url',
            event_types: ['*'],
          }),
        ),
      );
      no5xx(answers);
      expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
      for (const a of answers.filter((x) => x.status !== 201)) {
        expect(a.status).toBe(409);
        expect(a.body.error?.code).toBe('conflict');
        expect(a.text).not.toMatch(/webhook_endpoints|unique|constraint|sqlite|duplicate/i);
      }
    } finally {
      await sql`drop index race_endpoint_url`.execute(t.ctx.storage.db);
    }
  });
});
