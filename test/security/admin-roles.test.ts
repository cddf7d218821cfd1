import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ACCESS } from '../../src/http/admin-roles.js';
import type { RegisteredRoute } from '../../src/http/route-list.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * The role table (src/http/admin-roles.ts) against the routes the application really registered:
 * a new admin route without an entry fails here, and so does an entry left behind by a removed route.
 */
describe('the admin role table', () => {
  let t: TestServer;
  let admin: RegisteredRoute[];
  beforeAll(async () => {
    t = await startTestServer(storageTargets()[0] as never, { worker: false });
    admin = t.server.app.routeList.filter((r) => r.url.startsWith('/admin/'));
  });
  afterAll(() => t.stop());

  it('has an entry for every registered admin route', () => {
    expect(admin.length).toBeGreaterThan(40);
    const missing = admin.filter((r) => !r.operationId || !(r.operationId in ADMIN_ACCESS));
    expect(missing.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('has no entry without a route', () => {
    const ops = new Set(admin.map((r) => r.operationId));
    expect(Object.keys(ADMIN_ACCESS).filter((op) => !ops.has(op))).toEqual([]);
  });

  it('makes login, and only login, reachable without a session; admin may call every operation', () => {
    expect(Object.entries(ADMIN_ACCESS).filter(([, a]) => a === 'public')).toEqual([
      ['adminLogin', 'public'],
    ]);
    for (const [op, access] of Object.entries(ADMIN_ACCESS))
      if (access !== 'public') expect(access, op).toContain('admin');
  });

  it('every admin route that changes an existing object declares how to read its before', () => {
    // Logout ends the caller's own session: there is no object to show.
    const NO_BEFORE = new Set(['adminLogout']);
    const changes = admin.filter((r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(changes.length).toBeGreaterThan(8);
    const without = changes.filter((r) => !r.auditBefore && !NO_BEFORE.has(r.operationId ?? ''));
    expect(without.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // Policy-changing POSTs on an existing object too.
    for (const op of [
      'adminRotateChannelSecret',
      'adminResolvePayout',
      'adminApproveSettlementBatch',
      'adminResetUserPassword',
    ])
      expect(admin.find((r) => r.operationId === op)?.auditBefore, op).toBe(true);
  });
});
