import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { RecardClient } from '../../src/client/client.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/main/api.js';
import { type Context, createContext } from '../../src/main/context.js';
import { checkLedger } from '../../src/main/ledger-check.js';
import type { NewChannel } from '../../src/modules/channels/index.js';
import type { Subscriber } from '../../src/modules/events/index.js';
import type { Clock } from '../../src/shared/clock.js';
import { type RawResponse, send } from './http.js';
import { capturingLogger } from './logger.js';
import type { StorageTarget, TestLocation } from './storage.js';

export interface TestServer {
  url: string;
  /** The data folder (generated keys): another process given it opens the same cards. */
  dataDir: string;
  /** Where the database is, for another process. */
  location: TestLocation;
  ctx: Context;
  server: RunningServer;
  /** Every log line the server wrote, for redaction and error assertions. */
  logs: string[];
  createChannel(
    input?: Partial<NewChannel>,
  ): Promise<{ id: string; secret: string; webhookSecret: string; client: RecardClient }>;
  /** A call to the admin API with the test token (or `token`). */
  admin(method: string, path: string, body?: unknown, token?: string): Promise<RawResponse>;
  /** Row counts of every table a request could write to: "nothing was written" is equality of two snapshots. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export const TEST_CHANNEL_KEY = randomBytes(32).toString('base64');
export const TEST_ADMIN_TOKEN = `adm_${randomBytes(24).toString('hex')}`;

/**
 * The environment a `recard worker` process needs to share a test server's database, keys and
 * admin token, configured like the CLI (fast polling, a short lease), plus `extra`.
 */
export function workerEnv(t: TestServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: t.location.url,
    RECARD_DATABASE_SCHEMA: t.location.schema,
    RECARD_DATA_DIR: t.dataDir,
    RECARD_CHANNEL_KEY: TEST_CHANNEL_KEY,
    RECARD_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    RECARD_LOG_LEVEL: 'silent',
    RECARD_WORKER_POLL_MS: '20',
    ...extra,
  };
}

export async function startTestServer(
  target: StorageTarget,
  options: { config?: Partial<Config>; worker?: boolean; clock?: Clock; subscribers?: Subscriber[] } = {},
): Promise<TestServer> {
  const loc: TestLocation = await target.fresh();
  const dataDir = mkdtempSync(join(tmpdir(), 'recard-data-'));
  const config = loadConfig(
    {},
    {
      port: 0,
      databaseUrl: loc.url,
      databaseSchema: loc.schema,
      dataDir,
      channelKey: TEST_CHANNEL_KEY,
      adminToken: TEST_ADMIN_TOKEN,
      logLevel: 'debug',
      workerPollMs: 20,
      pgPoolSize: 5,
      // Receivers in tests listen on loopback, which is refused unless allowed explicitly.
      outboundAllowlist: '127.0.0.1',
      ...options.config,
    },
  );
  const { logger, lines } = capturingLogger('debug');
  const ctx = await createContext(config, {
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.subscribers ? { subscribers: options.subscribers } : {}),
  });
  const server = await startServer(ctx, { worker: options.worker ?? true });
  const url = server.url;
  return {
    url,
    dataDir,
    location: loc,
    ctx,
    server,
    logs: lines,
    async createChannel(input = {}) {
      // HMAC without a token whatever the kind, as before kinds had their own auth; suites of the
      // other schemes say so (test/security/).
      const made = await ctx.channels.create({
        name: 'Test channel',
        kind: 'merchant',
        ...input,
        auth: { schemes: ['HMAC-SHA256'], require_token: false, ...input.auth },
      });
      if (!made.ok) throw new Error(`test channel: ${made.message}`);
      const created = made.value;
      return {
        id: created.channel.id,
        secret: created.secret,
        webhookSecret: created.webhookSecret,
        client: new RecardClient({ baseUrl: url, channelId: created.channel.id, secret: created.secret }),
      };
    },
    admin(method, path, body, token = TEST_ADMIN_TOKEN) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      return send(url, method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    },
    async counts() {
      const out: Record<string, number> = {};
      // Scheduled jobs (maintenance, FX reads) are enqueued by the worker on its own timetable, not by
      // requests: they are left out, so that "nothing was written" does not race with the schedule.
      const scheduled = ctx.schedules.map((sc) => sc.spec.kind);
      const jobs = await ctx.storage.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('kind', 'not in', scheduled)
        .executeTakeFirst();
      out.jobs = Number(jobs?.n ?? 0);
      for (const table of [
        'channels',
        'channel_keys',
        'request_nonces',
        'callback_tests',
        'webhook_endpoints',
        'webhook_deliveries',
        'webhook_attempts',
        'card_types',
        'orders',
        'order_events',
        'prices',
        'events',
        'rate_sheets',
        'rate_ranges',
        'rate_adjustments',
        'fx_rates',
        'channel_groups',
        'ledger_accounts',
        'ledger_transfers',
        'sellers',
        'payout_destinations',
        'settlement_items',
        'settlement_batches',
        'payouts',
        'idempotency_keys',
        'seller_accounts',
        'seller_sessions',
      ]) {
        const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(
          ctx.storage.db,
        );
        out[table] = Number(r.rows[0]?.n ?? 0);
      }
      return out;
    },
    async stop() {
      await server.stop();
      // Every suite leaves a ledger `recard ledger check` calls clean (docs/ledger.md#invariants).
      // A suite that took its database away (the readiness tests) leaves nothing to check.
      const report = await checkLedger(ctx).catch(() => ({ violations: [] }));
      await ctx.close();
      await loc.destroy();
      rmSync(dataDir, { recursive: true, force: true });
      if (report.violations.length > 0)
        throw new Error(
          `ledger check after the suite: ${report.violations.map((v) => `${v.rule} ${v.subject}: ${v.detail}`).join('; ')}`,
        );
    },
  };
}
