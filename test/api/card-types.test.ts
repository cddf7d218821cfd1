import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCard } from '../../src/modules/cards/formats.js';
import type { CardTypeView } from '../../src/modules/cards/model.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/** A card of each seeded type that its rules accept, as a seller might type it. */
const SAMPLES: Record<string, [string, string]> = {
  cmcc_national: ['1234 5678 9012 3456 7', '123456789012345678'],
  cmcc_zhejiang: ['1234567890', '12345678'],
  cmcc_jiangsu: ['1234567890123456', '12345678901234567'],
  cmcc_liaoning: ['1234567890123456', '123456789012345678901'],
  unicom_national: ['123456789012345', '1234567890123456789'],
  telecom_national: ['123 1 456789012345678', '123456789012345678'],
  telecom_guangdong: ['1232456789012345678', '123456789012345678'],
  jd_ecard: ['JDV12345678901234567', 'abcdef0123456789'],
  supermarket_gift: ['6214 8300 1234 5678 900', '123456'],
  sinopec_fuel: ['4006381333931', '1234567890123456'],
};

describe.each(storageTargets())('card types on $name', (target) => {
  let t: TestServer;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    ch = await t.createChannel();
  });
  afterAll(() => t.stop());

  const NEW = {
    code: 'wumart_gift',
    name: 'Wumart gift card',
    issuer: 'wumart',
    category: 'supermarket_gift',
    number_pattern: '^\\d{16}$',
    secret_pattern: '^\\d{8}$',
    checksum: 'luhn',
    face_values: [50000, 10000, 20000],
    currency: 'CNY',
  };

  const refused = (
    call: () => ReturnType<TestServer['admin']>,
    status: number,
    code: string,
    field?: string,
  ) => expectRefusal(t, call, { status, code, ...(field ? { field } : {}) });

  it('channels see the seeded catalogue, and every seeded rule accepts a real-shaped card', async () => {
    const res = await ch.client.get<{ data: CardTypeView[] }>('/v1/card-types');
    expect(res.status).toBe(200);
    const codes = res.body.data.map((c) => c.code);
    expect(codes).toEqual(Object.keys(SAMPLES).sort());
    for (const type of res.body.data) {
      const [number, secret] = SAMPLES[type.code] ?? ['', ''];
      expect(checkCard(type, number, secret), type.code).toMatchObject({ ok: true });
      expect(type.currency).toBe('CNY');
      expect(type.enabled).toBe(true);
    }
    const telecom = res.body.data.find((c) => c.code === 'telecom_national');
    expect(telecom?.face_values).toEqual([5000, 10000]);
    // The fourth digit tells national from Guangdong.
    expect(checkCard(telecom as CardTypeView, ...(SAMPLES.telecom_guangdong as [string, string])).ok).toBe(
      false,
    );
  });

  it('the admin API refuses a missing or wrong token', async () => {
    const res = await refused(
      () => t.admin('POST', '/admin/v1/card-types', NEW, 'wrong-token'),
      401,
      'admin_token_invalid',
      'authorization',
    );
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    await refused(() => t.admin('GET', '/admin/v1/card-types', undefined, ''), 401, 'admin_token_invalid');
    // A channel's signature is no admin credential.
    expect((await ch.client.get('/admin/v1/card-types')).status).toBe(401);
  });

  it('an admin adds a card type; channels see it; adding it again is a conflict', async () => {
    const created = await t.admin('POST', '/admin/v1/card-types', NEW);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      code: 'wumart_gift',
      enabled: true,
      face_values: [10000, 20000, 50000],
    });
    const list = await ch.client.get<{ data: CardTypeView[] }>('/v1/card-types');
    expect(list.body.data.map((c) => c.code)).toContain('wumart_gift');
    await refused(() => t.admin('POST', '/admin/v1/card-types', NEW), 409, 'card_type_exists', 'code');
  });

  it('an admin changes and disables a card type; a disabled one is hidden from channels but kept', async () => {
    const changed = await t.admin('PATCH', '/admin/v1/card-types/cmcc_zhejiang', {
      name: 'Mobile Zhejiang',
      face_values: [5000],
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      code: 'cmcc_zhejiang',
      name: 'Mobile Zhejiang',
      face_values: [5000],
      number_pattern: '^\\d{10}$',
    });
    expect(
      (await t.admin('PATCH', '/admin/v1/card-types/cmcc_zhejiang', { enabled: false })).body.enabled,
    ).toBe(false);
    const list = await ch.client.get<{ data: CardTypeView[] }>('/v1/card-types');
    expect(list.body.data.map((c) => c.code)).not.toContain('cmcc_zhejiang');
    expect((await t.admin('GET', '/admin/v1/card-types/cmcc_zhejiang')).body.enabled).toBe(false);
    const all = await t.admin('GET', '/admin/v1/card-types');
    expect((all.body.data as CardTypeView[]).map((c) => c.code)).toContain('cmcc_zhejiang');
  });

  it('refuses an unknown card type', async () => {
    await refused(
      () => t.admin('GET', '/admin/v1/card-types/no_such_card'),
      404,
      'card_type_not_found',
      'code',
    );
    await refused(
      () => t.admin('PATCH', '/admin/v1/card-types/no_such_card', { enabled: false }),
      404,
      'card_type_not_found',
    );
  });

  it.each([
    ['an unanchored pattern', { number_pattern: '\\d{16}' }, 'number_pattern'],
    ['a pattern that does not compile', { secret_pattern: '^(\\d{8}$' }, 'secret_pattern'],
    ['a pattern RE2 cannot run', { number_pattern: '^(?!0)\\d{16}$' }, 'number_pattern'],
    ['a negative face value', { face_values: [-100] }, 'face_values.0'],
    ['a fractional face value', { face_values: [100.5] }, 'face_values.0'],
    ['repeated face values', { face_values: [100, 100] }, 'face_values'],
    ['no face value', { face_values: [] }, 'face_values'],
    ['an unknown checksum', { checksum: 'crc32' }, 'checksum'],
    ['an amount sent as a string', { face_values: ['10000'] }, 'face_values.0'],
    ['an unknown field', { colour: 'red' }, 'colour'],
  ])('refuses %s', async (_label, patch, field) => {
    await refused(
      () => t.admin('POST', '/admin/v1/card-types', { ...NEW, code: 'bad_card', ...patch }),
      400,
      'invalid_request',
      field,
    );
    await refused(
      () => t.admin('PATCH', '/admin/v1/card-types/cmcc_national', patch),
      400,
      'invalid_request',
      field,
    );
  });

  it('refuses an empty change and a malformed code', async () => {
    await refused(() => t.admin('PATCH', '/admin/v1/card-types/cmcc_national', {}), 400, 'invalid_request');
    await refused(
      () => t.admin('POST', '/admin/v1/card-types', { ...NEW, code: 'Bad Code' }),
      400,
      'invalid_request',
      'code',
    );
  });
});
