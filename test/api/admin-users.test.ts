import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_MS, MAX_FAILED_LOGINS } from '../../src/modules/admins/index.js';
import { hashPassword, passwordMatches } from '../../src/modules/admins/passwords.js';
import { ShiftedClock } from '../harness/clock.js';
import { send } from '../harness/http.js';
import { jdRestRoute } from '../harness/issuer-route.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

interface Entry {
  id: string;
  actor: { kind: string; id: string | null; name: string };
  operation_id: string;
  method: string;
  route: string;
  params: Record<string, unknown>;
  request_body: unknown;
  status: number;
  before: unknown;
  after: unknown;
  request_id: string;
}

/**
 * Admin users, sessions, roles and the audit log (docs/security.md): argon2id passwords, opaque
 * session tokens with idle and absolute expiry, lockout, role checks, break-glass, and one audit
 * entry per admin action with its redacted body, answer and "before".
 */
describe.each(storageTargets())('admin users and audit on $name', (target) => {
  let t: TestServer;
  const clock = new ShiftedClock();
  const login = (username: string, password: string) =>
    send(
      t.url,
      'POST',
      '/admin/v1/sessions',
      { 'content-type': 'application/json' },
      JSON.stringify({ username, password }),
    );
  const audit = async (query = '') =>
    (await t.admin('GET', `/admin/v1/audit-log${query}`)).body as unknown as {
      data: Entry[];
      next_cursor: string | null;
    };

  beforeAll(async () => {
    t = await startTestServer(target, { worker: false, clock });
  });
  afterAll(() => t.stop());

  it('logs in with username and password; only the token hash is stored; the hash is argon2id', async () => {
    const me = await t.adminSession('reviewer', { username: 'rita', password: 'correct horse battery' });
    const res = await login('rita', 'correct horse battery');
    expect(res.status).toBe(201);
    const token = res.body.token as string;
    expect(token).toMatch(/^rcs_[A-Za-z0-9_-]{43}$/);
    expect(res.body).toMatchObject({
      user: { id: me.id, username: 'rita', role: 'reviewer', status: 'active' },
    });
    const user = await t.ctx.storage.db
      .selectFrom('admin_users')
      .selectAll()
      .where('id', '=', me.id)
      .executeTakeFirstOrThrow();
    expect(user.password_hash).toMatch(/^\$argon2id\$/);
    const sessions = await t.ctx.storage.db
      .selectFrom('admin_sessions')
      .selectAll()
      .where('user_id', '=', me.id)
      .execute();
    expect(sessions.length).toBe(2);
    for (const s of sessions) expect(s.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(sessions)).not.toContain(token);
    // Neither the password nor a token reaches the log.
    expect(t.logs.join('\n')).not.toContain('correct horse battery');
    expect(t.logs.join('\n')).not.toContain(token);

    expect((await t.admin('GET', '/admin/v1/events', undefined, token)).status).toBe(200);
    const out = await t.admin('DELETE', '/admin/v1/sessions/current', undefined, token);
    expect(out.status).toBe(204);
    const after = await t.admin('GET', '/admin/v1/events', undefined, token);
    expect(after.status).toBe(401);
    expect(after.body.error?.code).toBe('admin_token_invalid');
  });

  it('answers a wrong password and an unknown user alike, in similar time', async () => {
    await t.adminSession('finance', { username: 'fred', password: 'fred-password-1' });
    const wrong = await login('fred', 'not-his-password');
    const unknown = await login('nobody-at-all', 'not-his-password');
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.body.error?.code).toBe('admin_login_failed');
    }
    expect(wrong.body.error?.message).toBe(unknown.body.error?.message);
    // Both pay for one argon2 check: the unknown user is verified against a dummy hash.
    const time = async (u: string) => {
      const start = performance.now();
      await login(u, 'still-wrong-password');
      return performance.now() - start;
    };
    const known: number[] = [];
    const missing: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time('fred'));
      missing.push(await time('nobody-at-all'));
      // Reset fred's counter between tries, so this test does not lock him.
      await t.ctx.storage.db
        .updateTable('admin_users')
        .set({ failed_logins: 0 })
        .where('username', '=', 'fred')
        .execute();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
    // One argon2 check on its own, to compare with: an unknown user must cost about as much.
    const hashed = await hashPassword('some-password-here');
    const checks: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await passwordMatches(hashed, 'another-password');
      checks.push(performance.now() - start);
    }
    expect(median(missing)).toBeGreaterThan(median(checks) * 0.6);
    expect(median(known)).toBeLessThan(median(missing) * 3);
  });

  it('locks a user for 15 minutes after 5 wrong passwords, even for the right one; a reset clears it', async () => {
    const u = await t.adminSession('finance', { username: 'lara', password: 'lara-password-1' });
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++)
      expect((await login('lara', 'wrong-wrong')).status).toBe(401);
    expect((await login('lara', 'lara-password-1')).status).toBe(201); // a success resets the count
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) expect((await login('lara', 'wrong-wrong')).status).toBe(401);
    const locked = await login('lara', 'lara-password-1');
    expect(locked.status).toBe(423);
    expect(locked.body.error?.code).toBe('admin_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(LOCK_MS / 1000 - 60);
    clock.advance(LOCK_MS + 1000);
    expect((await login('lara', 'lara-password-1')).status).toBe(201);

    for (let i = 0; i < MAX_FAILED_LOGINS; i++) await login('lara', 'wrong-wrong');
    expect((await login('lara', 'lara-password-1')).status).toBe(423);
    const reset = await t.admin('POST', `/admin/v1/users/${u.id}/password`, {
      password: 'lara-new-password',
    });
    expect(reset.status).toBe(200);
    expect(reset.body.locked_until).toBeNull();
    expect((await login('lara', 'lara-new-password')).status).toBe(201);
    // The reset ended the sessions the old password opened.
    expect((await t.admin('GET', '/admin/v1/payouts', undefined, u.token)).status).toBe(401);
  });

  it('ends a session after the idle limit, and at the absolute limit however much it is used', async () => {
    const idleMs = t.ctx.config.adminSessionIdleS * 1000;
    const maxMs = t.ctx.config.adminSessionMaxS * 1000;
    const idle = await t.adminSession('reviewer');
    clock.advance(idleMs - 60_000);
    expect((await t.admin('GET', '/admin/v1/events', undefined, idle.token)).status).toBe(200);
    clock.advance(idleMs - 60_000); // used a moment ago: still live
    expect((await t.admin('GET', '/admin/v1/events', undefined, idle.token)).status).toBe(200);
    clock.advance(idleMs + 1000);
    expect((await t.admin('GET', '/admin/v1/events', undefined, idle.token)).status).toBe(401);

    const busy = await t.adminSession('reviewer');
    for (let used = 0; used < maxMs - idleMs / 2; used += idleMs / 2) {
      clock.advance(idleMs / 2);
      expect((await t.admin('GET', '/admin/v1/events', undefined, busy.token)).status).toBe(200);
    }
    clock.advance(idleMs / 2 + 1000);
    expect((await t.admin('GET', '/admin/v1/events', undefined, busy.token)).status).toBe(401);

    // Ended sessions are swept by the maintenance job; live ones stay.
    const live = await t.adminSession('reviewer');
    await t.ctx.admins.pruneSessions();
    const left = await t.ctx.storage.db.selectFrom('admin_sessions').select('user_id').execute();
    expect(left.map((s) => s.user_id)).toEqual([live.id]);
    expect((await t.admin('GET', '/admin/v1/events', undefined, live.token)).status).toBe(200);
  });

  it('checks the role on every route: a too-weak role is 403 role_forbidden, with nothing changed', async () => {
    const reviewer = await t.adminSession('reviewer');
    const finance = await t.adminSession('finance');
    const before = await t.counts();
    for (const [token, method, path, body] of [
      [reviewer.token, 'GET', '/admin/v1/payouts', undefined],
      [reviewer.token, 'POST', '/admin/v1/transfers', { transfers: [] }],
      [finance.token, 'GET', '/admin/v1/channels', undefined],
      [
        finance.token,
        'POST',
        '/admin/v1/users',
        { username: 'mallory', role: 'admin', password: 'x'.repeat(20) },
      ],
      [finance.token, 'GET', '/admin/v1/audit-log', undefined],
    ] as const) {
      const res = await t.admin(method, path, body, token);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error?.code).toBe('role_forbidden');
    }
    expect(await t.counts()).toEqual(before);
    expect((await t.admin('GET', '/admin/v1/payouts', undefined, finance.token)).status).toBe(200);
    expect((await t.admin('GET', '/admin/v1/events', undefined, finance.token)).status).toBe(200);
  });

  it('manages users: create, list, change role (at once for open sessions), disable (ends sessions), enable', async () => {
    const made = await t.admin('POST', '/admin/v1/users', {
      username: 'carl',
      role: 'reviewer',
      password: 'carl-password-1',
    });
    expect(made.status).toBe(201);
    expect(JSON.stringify(made.body)).not.toContain('password');
    const dup = await t.admin('POST', '/admin/v1/users', {
      username: 'carl',
      role: 'admin',
      password: 'carl-password-2',
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error?.code).toBe('admin_username_taken');
    const short = await t.admin('POST', '/admin/v1/users', {
      username: 'dora',
      role: 'admin',
      password: 'short',
    });
    expect(short.status).toBe(400);

    const id = made.body.id as string;
    const token = (await login('carl', 'carl-password-1')).body.token as string;
    expect((await t.admin('GET', '/admin/v1/payouts', undefined, token)).status).toBe(403);
    expect((await t.admin('PATCH', `/admin/v1/users/${id}`, { role: 'finance' })).body.role).toBe('finance');
    expect((await t.admin('GET', '/admin/v1/payouts', undefined, token)).status).toBe(200);

    expect((await t.admin('PATCH', `/admin/v1/users/${id}`, { status: 'disabled' })).body.status).toBe(
      'disabled',
    );
    expect((await t.admin('GET', '/admin/v1/payouts', undefined, token)).status).toBe(401);
    const refused = await login('carl', 'carl-password-1');
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('admin_login_failed');
    await t.admin('PATCH', `/admin/v1/users/${id}`, { status: 'active' });
    expect((await login('carl', 'carl-password-1')).status).toBe(201);

    const list = (await t.admin('GET', '/admin/v1/users')).body.data as { username: string }[];
    expect(list.map((u) => u.username)).toContain('carl');
    expect(
      (await t.admin('PATCH', '/admin/v1/users/adm_00000000000000000000000000', { role: 'admin' })).status,
    ).toBe(404);
  });

  it('audits an admin change with who, what, the redacted body, the answer and the object before', async () => {
    const ops = await t.adminSession('admin', { username: 'ops-anna' });
    const ch = await t.createChannel({ name: 'Audited', face_value_policy: 'review' });
    const res = await t.admin(
      'PATCH',
      `/admin/v1/channels/${ch.id}`,
      { face_value_policy: 'fail' },
      ops.token,
    );
    expect(res.status).toBe(200);
    const [entry] = (await audit('?actor=ops-anna&operation_id=adminPatchChannel')).data;
    expect(entry).toMatchObject({
      actor: { kind: 'user', id: ops.id, name: 'ops-anna' },
      operation_id: 'adminPatchChannel',
      method: 'PATCH',
      route: '/admin/v1/channels/:id',
      params: { id: ch.id },
      request_body: { face_value_policy: 'fail' },
      status: 200,
      before: { id: ch.id, face_value_policy: 'review' },
      after: { id: ch.id, face_value_policy: 'fail' },
      request_id: res.headers.get('x-request-id'),
    });

    // A failed action is on record too.
    const missing = await t.admin(
      'PATCH',
      '/admin/v1/channels/ch_00000000000000000000000000',
      { face_value_policy: 'fail' },
      ops.token,
    );
    expect(missing.status).toBe(404);
    const [failed] = (await audit('?actor=ops-anna&operation_id=adminPatchChannel')).data;
    expect(failed).toMatchObject({
      status: 404,
      before: null,
      after: { error: { code: 'channel_not_found' } },
    });

    // Secrets in the body and in the answer are redacted: passwords, rotated secrets.
    await t.admin(
      'POST',
      '/admin/v1/users',
      { username: 'eve-op', role: 'reviewer', password: 'eve-secret-password' },
      ops.token,
    );
    const rotated = await t.admin(
      'POST',
      `/admin/v1/channels/${ch.id}/secrets/rotate`,
      { kind: 'api' },
      ops.token,
    );
    expect(rotated.status).toBe(200);
    const failedLogin = await login('ops-anna', 'a-guessed-password');
    expect(failedLogin.status).toBe(401);
    const text = JSON.stringify(await audit('?limit=100'));
    for (const secret of ['eve-secret-password', rotated.body.secret as string, 'a-guessed-password'])
      expect(text).not.toContain(secret);
    const [rotation] = (await audit('?operation_id=adminRotateChannelSecret')).data;
    expect(rotation?.after).toMatchObject({ secret: '[redacted]' });
    expect(rotation?.before).toMatchObject({ id: ch.id });
    const [attempt] = (await audit('?operation_id=adminLogin')).data;
    expect(attempt).toMatchObject({
      actor: { kind: 'anonymous', id: null, name: 'ops-anna' },
      request_body: { username: 'ops-anna', password: '[redacted]' },
      status: 401,
    });
  });

  it('records the before of card types, issuer routes and FX rates', async () => {
    await t.admin('PATCH', '/admin/v1/card-types/cmcc_national', { enabled: false });
    await t.admin('PATCH', '/admin/v1/card-types/cmcc_national', { enabled: true });
    const [card] = (await audit('?operation_id=adminUpdateCardType')).data;
    expect(card).toMatchObject({
      before: { code: 'cmcc_national', enabled: false },
      after: { enabled: true },
    });

    const route = jdRestRoute('route-app-secret-1');
    await t.admin('PUT', '/admin/v1/issuer-routes/jd_audit', route);
    await t.admin('PUT', '/admin/v1/issuer-routes/jd_audit', { ...route, priority: 2 });
    const [first, second] = [...(await audit('?operation_id=adminPutIssuerRoute')).data].reverse();
    expect(first?.before).toBeNull();
    expect(second?.before).toMatchObject({ id: 'jd_audit', priority: 1 });

    await t.admin('PUT', '/admin/v1/fx-rates/USD/CNY', { rate: '7.1' });
    await t.admin('PUT', '/admin/v1/fx-rates/USD/CNY', { rate: '7.2' });
    const [fx] = (await audit('?operation_id=adminPutFxRate')).data;
    expect(fx?.before).toEqual(expect.arrayContaining([expect.objectContaining({ rate: '7.1' })]));
  });

  it('takes the configured token as break-glass: role admin, every use audited, GETs included', async () => {
    const res = await send(t.url, 'GET', '/admin/v1/channels', {
      authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
    });
    expect(res.status).toBe(200);
    const [entry] = (await audit('?actor=break-glass&operation_id=adminListChannels')).data;
    expect(entry).toMatchObject({
      actor: { kind: 'break-glass', id: null, name: 'break-glass' },
      method: 'GET',
      status: 200,
    });
    expect(entry?.after).toBeNull();
    // A break-glass call refused by validation is on record as well.
    await t.admin('POST', '/admin/v1/users', { username: 'x' });
    const [invalid] = (await audit('?actor=break-glass&operation_id=adminCreateUser')).data;
    expect(invalid?.status).toBe(400);
    // An admin user's GET is not audited.
    const anna = await t.adminSession('admin');
    const n = (await audit(`?actor=${anna.username}`)).data.length;
    await t.admin('GET', '/admin/v1/channels', undefined, anna.token);
    expect((await audit(`?actor=${anna.username}`)).data.length).toBe(n);
  });

  it('lists the audit log newest first, paged', async () => {
    const page1 = await audit('?limit=2');
    expect(page1.data.length).toBe(2);
    expect(page1.next_cursor).toBe(page1.data[1]?.id);
    const page2 = await audit(`?limit=2&cursor=${page1.next_cursor}`);
    const ids = [...page1.data, ...page2.data].map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(new Set(ids).size).toBe(4);
    const reviewer = await t.adminSession('reviewer');
    expect((await t.admin('GET', '/admin/v1/audit-log', undefined, reviewer.token)).status).toBe(403);
  });
});
