import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jdRestRoute } from '../harness/issuer-route.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

const route = jdRestRoute('super-secret-app-key');

describe.each(storageTargets())('issuer admin API on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
  });
  afterAll(() => t.stop());

  it('refuses without the admin token', async () => {
    const res = await t.admin(
      'GET',
      '/admin/v1/issuer-routes',
      undefined,
      'adm_wrong_token_000000000000000000000000',
    );
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('admin_token_invalid');
  });

  it('creates and replaces a route; the app secret is write-only and sealed at rest', async () => {
    const put = await t.admin('PUT', '/admin/v1/issuer-routes/jd_primary', route);
    expect(put.status).toBe(200);
    const view = put.body;
    expect(view).toMatchObject({
      id: 'jd_primary',
      timeout_ms: 3000,
      max_concurrency: 32,
      enabled: true,
      has_app_secret: true,
    });
    expect(put.text).not.toContain('super-secret-app-key');
    const row = await t.ctx.storage.db
      .selectFrom('issuer_routes')
      .selectAll()
      .where('id', '=', 'jd_primary')
      .executeTakeFirst();
    expect(row?.app_secret_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain('super-secret-app-key');
    // Replacing without app_secret keeps the stored one.
    const { app_secret: _s, ...withoutSecret } = route;
    const again = await t.admin('PUT', '/admin/v1/issuer-routes/jd_primary', {
      ...withoutSecret,
      priority: 5,
      enabled: false,
    });
    expect(again.body).toMatchObject({ priority: 5, enabled: false, has_app_secret: true });
    const list = (await t.admin('GET', '/admin/v1/issuer-routes')).body;
    expect((list.data as { id: string }[]).map((r) => r.id)).toContain('jd_primary');
    expect(t.logs.join('\n')).not.toContain('super-secret-app-key');
  });

  it('refuses a REST route without credentials, and bad fields, naming the field', async () => {
    const { app_secret: _s, app_id: _a, ...bare } = route;
    const noSecret = await t.admin('PUT', '/admin/v1/issuer-routes/jd_second', bare);
    expect(noSecret.status).toBe(400);
    expect(noSecret.body.error).toMatchObject({ code: 'invalid_request', field: 'app_secret' });
    const badProtocol = await t.admin('PUT', '/admin/v1/issuer-routes/jd_second', {
      ...route,
      protocol: 'ftp',
    });
    expect(badProtocol.status).toBe(400);
    const badEndpoint = await t.admin('PUT', '/admin/v1/issuer-routes/jd_second', {
      ...route,
      endpoint: 'file:///etc/passwd',
    });
    expect(badEndpoint.status).toBe(400);
    expect(
      await t.ctx.storage.db
        .selectFrom('issuer_routes')
        .select('id')
        .where('id', '=', 'jd_second')
        .executeTakeFirst(),
    ).toBeUndefined();
  });

  it('lists the seeded codes and maps a new one (null = ambiguous)', async () => {
    const seeded = (await t.admin('GET', '/admin/v1/issuer-codes?issuer=china_mobile')).body;
    expect(seeded.data as unknown[]).toContainEqual(
      expect.objectContaining({ raw_code: '9003', reason: null, ambiguous: true }),
    );
    expect(seeded.data as unknown[]).toContainEqual(
      expect.objectContaining({ raw_code: '1003', reason: 'card_used' }),
    );
    const put = await t.admin('PUT', '/admin/v1/issuer-codes/china_mobile/1006', {
      reason: 'card_invalid',
      description: 'card blacklisted',
    });
    expect(put.status).toBe(200);
    const ambiguous = await t.admin('PUT', '/admin/v1/issuer-codes/china_mobile/1007', {
      reason: null,
      description: 'two meanings',
    });
    expect(ambiguous.body).toMatchObject({ ambiguous: true });
    const bad = await t.admin('PUT', '/admin/v1/issuer-codes/china_mobile/1008', {
      reason: 'maybe',
      description: 'x',
    });
    expect(bad.status).toBe(400);
  });

  it('a route change is used at once by this process, even just after it cached an empty list', async () => {
    const firstId = () => t.ctx.router.firstAvailable('ctcc_national', async (r) => r.route.id);
    await expect(firstId()).rejects.toThrow(/no enabled issuer route serves ctcc_national/);
    const put = await t.admin('PUT', '/admin/v1/issuer-routes/ctcc_now', {
      ...route,
      card_type: 'ctcc_national',
      issuer: 'china_telecom',
    });
    expect(put.status).toBe(200);
    expect((await firstId()).value).toBe('ctcc_now');
    await t.admin('PUT', '/admin/v1/issuer-routes/ctcc_now', {
      ...route,
      card_type: 'ctcc_national',
      issuer: 'china_telecom',
      enabled: false,
    });
    await expect(firstId()).rejects.toThrow(/no enabled issuer route/);
  });
});
