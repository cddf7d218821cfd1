import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * Operators' card patterns run on sellers' input. Classic catastrophic-backtracking patterns are
 * accepted, and a long card number against them is answered promptly: the engine is linear-time.
 * (Input is upper-cased before matching, so the letter patterns use `A`.)
 */
const EVIL: [string, string][] = [
  ['^(\\d|\\d)+$', `${'1'.repeat(62)}X`],
  ['^(\\d+)*$', `${'1'.repeat(62)}X`],
  ['^(a+)+$', `${'A'.repeat(62)}1`],
  ['^(A+)+$', `${'A'.repeat(62)}1`],
  ['^(.*a){20}$', `${'A'.repeat(62)}1`],
  ['^(.*A){20}$', `${'A'.repeat(62)}1`],
];

/** Generous: a backtracking engine would take years on these inputs; a linear one takes microseconds. */
const PROMPT_MS = 5_000;

describe.each(storageTargets())('card patterns on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    ch = await t.createChannel();
  });
  afterAll(() => t.stop());

  it.each(EVIL.map(([pattern, number], i) => [pattern, number, i] as const))(
    'accepts %s and answers a long number against it promptly',
    async (pattern, number, i) => {
      const code = `evil_${i}`;
      const created = await t.admin('POST', '/admin/v1/card-types', {
        code,
        name: 'Evil pattern',
        issuer: 'evil',
        category: 'supermarket_gift',
        number_pattern: pattern,
        secret_pattern: pattern,
        checksum: 'none',
        face_values: [10_000],
        currency: 'CNY',
      });
      expect(created.status, created.text).toBe(201);
      const started = performance.now();
      const res = await ch.client.post('/v1/orders', mobileOrder({ card_type: code, card_number: number }));
      expect(performance.now() - started).toBeLessThan(PROMPT_MS);
      expect(res.status).toBe(400);
      expect((res.body as { error: { code: string } }).error.code).toBe('invalid_card_number');
    },
  );

  it.each([
    ['a lookahead', '^(?=\\d)\\d{16}$'],
    ['a back-reference', '^(\\d)\\1{15}$'],
  ])('refuses a pattern the linear-time engine cannot run: %s', async (_label, pattern) => {
    const res = await t.admin('POST', '/admin/v1/card-types', {
      code: 'not_re2',
      name: 'Not RE2',
      issuer: 'evil',
      category: 'supermarket_gift',
      number_pattern: pattern,
      secret_pattern: '^\\d{8}$',
      checksum: 'none',
      face_values: [10_000],
      currency: 'CNY',
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'number_pattern' });
    expect(res.body.error?.message).toMatch(/RE2/);
  });
});
