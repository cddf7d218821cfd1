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
import type { AdminRole } from '../../src/modules/admins/index.js';
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
  /** An admin user of `role` (a new one each call unless `username` is given) and a session token for it. */
  adminSession(
    role: AdminRole,
    options?: { username?: string; password?: string },
  ): Promise<{ id: string; username: string; password: string; token: string }>;
  /** Row counts of every table a request could write to: "nothing was written" is equality of two snapshots. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export const TEST_CHANNEL_KEY = randomBytes(32).toString('base64');

/** Rate limits no suite reaches (the production defaults are 100/s burst 200 per channel, 10/20 per address). */
export const GENEROUS_RATE_LIMITS = {
  channelRate: 1_000_000,
  channelBurst: 10_000_000,
  ipRate: 1_000_000,
  ipBurst: 10_000_000,
} satisfies Partial<Config>;

/**
 * Channels made by suites keep what they had before kinds got default policies: T+0 and no limits,
 * unless the suite asks (docs/limits.md#defaults-per-kind has what `recard channels create` gives).
 */
const OPEN_CHANNEL = {
  settlement: { cycle: 'T0' },
  limits: { per_order_min: null, per_order_max: null, required_fields: [] },
} satisfies Partial<NewChannel>;

let adminSerial = 0;
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
    RECARD_CHANNEL_RATE: String(GENEROUS_RATE_LIMITS.channelRate),
    RECARD_CHANNEL_BURST: String(GENEROUS_RATE_LIMITS.channelBurst),
    RECARD_IP_RATE: String(GENEROUS_RATE_LIMITS.ipRate),
    RECARD_IP_BURST: String(GENEROUS_RATE_LIMITS.ipBurst),
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
      // Suites and drills send bursts from 127.0.0.1: only the rate-limit tests meet the real defaults.
      ...GENEROUS_RATE_LIMITS,
      // Suites send many cards from one seller: only the risk suites (test/flows/risk*.ts) run the rules.
      risk: 'off',
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
        settlement: { ...OPEN_CHANNEL.settlement, ...input.settlement },
        limits: { ...OPEN_CHANNEL.limits, ...input.limits },
        settlement_currency: input.settlement_currency ?? null,
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
    async adminSession(role, options = {}) {
      const username = options.username ?? `op-${role}-${++adminSerial}`;
      const password = options.password ?? `pw-${randomBytes(12).toString('hex')}`;
      const made = await ctx.admins.create({ username, role, password });
      if (!made.ok) throw new Error(`test admin user: ${made.message}`);
      const login = await ctx.admins.login({ username, password });
      if (!login.ok) throw new Error(`test admin login: ${login.message}`);
      return { id: made.value.id, username, password, token: login.value.token };
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
        'channel_daily_usage',
        'ledger_accounts',
        'ledger_transfers',
        'sellers',
        'payout_destinations',
        'settlement_items',
        'settlement_batches',
        'payouts',
        'idempotency_keys',
        'admin_users',
        'admin_sessions',
        // Not admin_audit: the audit log records refused admin calls too (docs/security.md#audit-log).
        'seller_accounts',
        'seller_sessions',
        'reviews',
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
