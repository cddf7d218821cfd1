import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import { loadConfig } from '../../src/config/load.js';
import { type RunningServer, startServer } from '../../src/main/api.js';
import { type Context, createContext } from '../../src/main/context.js';
import { createLogger } from '../../src/shared/logger.js';
import { jdRestRoute } from '../harness/issuer-route.js';
import { mobileOrder } from '../harness/orders.js';
import {
  GENEROUS_RATE_LIMITS,
  startTestServer,
  TEST_ADMIN_TOKEN,
  TEST_CHANNEL_KEY,
  type TestServer,
} from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { waitFor } from '../harness/wait.js';

const postgres = storageTargets().find((t) => t.name === 'postgres');

/** A second API process of the same deployment: its own context and pool on the same schema. */
async function startPeer(
  t: TestServer,
): Promise<{ ctx: Context; server: RunningServer; stop(): Promise<void> }> {
  const config = loadConfig(
    {},
    {
      port: 0,
      databaseUrl: t.location.url,
      databaseSchema: t.location.schema,
      dataDir: t.dataDir,
      channelKey: TEST_CHANNEL_KEY,
      adminToken: TEST_ADMIN_TOKEN,
      logLevel: 'silent',
      pgPoolSize: 3,
      risk: 'off',
      ...GENEROUS_RATE_LIMITS,
    },
  );
  const ctx = await createContext(config, { logger: createLogger('silent') });
  const server = await startServer(ctx, { worker: false });
  return {
    ctx,
    server,
    async stop() {
      await server.stop();
      await ctx.close();
    },
  };
}

/**
 * Configuration changed in one process reaches the others by PostgreSQL LISTEN/NOTIFY
 * (storage/change-feed.ts). While the feed is live the caches live 30 s, so a change seen within
 * a few seconds was told, not waited out.
 */
describe.skipIf(!postgres)('configuration changes across processes on PostgreSQL', () => {
  let a: TestServer;
  let b: Awaited<ReturnType<typeof startPeer>>;
  let ch: Awaited<ReturnType<TestServer['createChannel']>>;
  let onB: RecardClient;

  beforeAll(async () => {
    a = await startTestServer(postgres as NonNullable<typeof postgres>, { worker: false });
    b = await startPeer(a);
    ch = await a.createChannel({ name: 'Told shop' });
    onB = new RecardClient({ baseUrl: b.server.url, channelId: ch.id, secret: ch.secret });
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  it('both processes listen', () => {
    expect(a.ctx.changes.live).toBe(true);
    expect(b.ctx.changes.live).toBe(true);
  });

  it('a channel disabled in one process is refused by the other at once, and enabled again', async () => {
    expect((await onB.get('/v1/channel')).status).toBe(200);
    expect(await a.ctx.channels.setStatus(ch.id, 'disabled')).toBe(true);
    const refused = await waitFor(
      async () => {
        const r = await onB.get<{ error?: { code: string } }>('/v1/channel');
        return r.status !== 200 ? r : undefined;
      },
      5_000,
      'the other process to refuse the disabled channel',
    );
    expect(refused.status).toBe(401);
    expect(refused.body.error?.code).toBe('channel_disabled');
    expect(await a.ctx.channels.setStatus(ch.id, 'active')).toBe(true);
    await waitFor(async () => (await onB.get('/v1/channel')).status === 200, 5_000, 'enabled again');
  });

  it('a card type disabled in one process is refused by the other at once', async () => {
    const first = await onB.post('/v1/orders', mobileOrder({ merchant_order_id: 'told-1' }));
    expect(first.status).toBe(201);
    const changed = await a.ctx.cardTypes.update('cmcc_national', { enabled: false });
    expect(changed.ok).toBe(true);
    let n = 1;
    const refused = await waitFor(
      async () => {
        const r = await onB.post<{ error?: { code: string } }>(
          '/v1/orders',
          mobileOrder({ merchant_order_id: `told-${++n}` }),
        );
        return r.status !== 201 ? r : undefined;
      },
      5_000,
      'the other process to refuse the disabled card type',
    );
    expect(refused.body.error?.code).toBe('unsupported_card_type');
    await a.ctx.cardTypes.update('cmcc_national', { enabled: true });
  });

  it('a route changed through the admin API makes the other process read its routes again', async () => {
    const forgot = vi.spyOn(b.ctx.router, 'forgetRoutes');
    const put = await a.admin('PUT', '/admin/v1/issuer-routes/jd_told', jdRestRoute('told-app-secret'));
    expect(put.status).toBe(200);
    await waitFor(() => forgot.mock.calls.length > 0, 5_000, 'the other process to forget its routes');
    forgot.mockRestore();
  });

  it('a feed whose connection is cut is not live until it is back, then forgets everything it holds', async () => {
    const forgot = vi.spyOn(b.ctx.cardTypes, 'forgetCached');
    // The listening connections of this deployment (a's and b's), named for its schema.
    const cut = await sql<{
      n: number;
    }>`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where application_name = ${`recard-changes:${a.location.schema}`}`.execute(a.ctx.storage.db);
    expect(cut.rows[0]?.n ?? 0).toBeGreaterThanOrEqual(2);
    await waitFor(() => !b.ctx.changes.live, 5_000, 'the feed to notice');
    await waitFor(() => b.ctx.changes.live, 10_000, 'the feed to reconnect');
    // Changes made while it was away were missed: everything is read again.
    expect(forgot.mock.calls.some(([code]) => code === null)).toBe(true);
    forgot.mockRestore();
    // And it is told again.
    expect((await onB.get('/v1/channel')).status).toBe(200);
    await a.ctx.channels.setStatus(ch.id, 'disabled');
    await waitFor(
      async () => (await onB.get('/v1/channel')).status === 401,
      5_000,
      'told after reconnecting',
    );
    await a.ctx.channels.setStatus(ch.id, 'active');
  });
});
