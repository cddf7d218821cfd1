import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Command, InvalidArgumentError, Option } from 'commander';
import { RecardClient } from '../client/client.js';
import { dropRetiredFileCardKeys, rotateFileCardMasterKey } from '../config/keys.js';
import { ConfigError, isPostgresUrl, loadConfig, sqlitePath } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { ADMIN_ROLES, type AdminRole, generatePassword, NewAdminUser } from '../modules/admins/index.js';
import type { BatchView } from '../modules/batches/index.js';
import {
  CHANNEL_KINDS,
  type ChannelKind,
  FACE_VALUE_POLICIES,
  type FaceValuePolicy,
  SECRET_KINDS,
  type SecretKind,
  SIGNATURE_SCHEMES,
  type SignatureScheme,
} from '../modules/channels/index.js';
import { createLogger } from '../shared/logger.js';
import { CURRENCY_CODES, type Currency } from '../shared/money.js';
import { DEFAULT_SEED } from '../simulators/card-base.js';
import { NO_FAULTS } from '../simulators/faults.js';
import { startFxFeedSimulator } from '../simulators/fx-feed.js';
import { SIM_ISSUERS, startSimulators } from '../simulators/index.js';
import { startSmsSimulator } from '../simulators/sms-gateway.js';
import { renderTestCards } from '../simulators/test-cards.js';
import { BackupError, backupSqlite } from '../storage/backup.js';
import { openStorage } from '../storage/database.js';
import { migrateToLatest, SchemaTooNewError, schemaStatus } from '../storage/migrate.js';
import { buildApi, startServer } from './api.js';
import { superviseApiProcesses } from './cluster.js';
import { type Context, createContext, VERSION } from './context.js';
import {
  DEMO_USDT_CHANNEL,
  DEMO_USDT_CHANNEL_ID,
  ensureDemoChannel,
  ensureDemoSellers,
  startDemoFxFeed,
  startDemoIssuers,
  startDemoPayouts,
} from './demo.js';
import { startContextFileDrop } from './file-drop.js';
import { checkLedger } from './ledger-check.js';
import { startWorker, startWorkerOps } from './worker.js';

const out = (text: string) => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY_RELOAD_WAIT_MS = 2500;

/** Runs `body` with a process context; known start-up failures become one clear line and an exit code. */
async function withContext(
  body: (ctx: Context) => Promise<void>,
  options: { server?: boolean } = {},
): Promise<void> {
  const config = loadConfig();
  // Servers log to stdout; management commands print their answer there and log to stderr.
  const logger = createLogger(config.logLevel, options.server ? undefined : { stderr: true });
  const ctx = await createContext(config, { logger });
  try {
    await body(ctx);
  } finally {
    await ctx.close();
  }
}

/** `serve --processes N` in the primary: N copies of this command, supervised (main/cluster.ts). */
async function superviseCommand(n: number): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const group = await superviseApiProcesses(n, config, logger);
  out(
    `Recard ${VERSION} is running at ${group.url} with ${n} API processes (pids ${group.pids().join(', ')})`,
  );
  const signal = await Promise.race([untilSignal(), group.exited.then(() => null)]);
  if (signal === null) {
    process.exitCode = 1;
    return;
  }
  logger.info({ signal }, 'shutting down the API processes');
  await group.stop(config.shutdownGraceMs);
}

/** Resolves on the first SIGTERM/SIGINT; a second one exits at once. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (signal: string) => {
      if (seen) process.exit(130);
      seen = true;
      resolve(signal);
    };
    process.on('SIGTERM', () => on('SIGTERM'));
    process.on('SIGINT', () => on('SIGINT'));
  });
}

const settingsHelp = `\nSettings (environment variables):\n${Object.values(SETTINGS)
  .map((s) => `  ${s.env.padEnd(28)} ${s.description}`)
  .join('\n')}\n`;

function intArg(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`--${name} must be a non-negative integer`);
  return n;
}

export function buildCli(): Command {
  const program = new Command('recard')
    .description('Recard: prepaid card recycling service')
    .version(VERSION)
    .addHelpText('after', settingsHelp);

  program
    .command('serve')
    .description('Run the API (and, unless --no-worker, a job worker in the same process)')
    .option('--no-worker', 'API only; run `recard worker` processes beside it')
    .option('--demo', 'create the demo channel on first run and print its credentials')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (RECARD_TLS_CERT)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert (RECARD_TLS_KEY)')
    .option(
      '--client-ca <file>',
      'ask for client certificates signed by this CA: mutual TLS (RECARD_TLS_CLIENT_CA)',
    )
    .option(
      '--file-drop-port <port>',
      'run the SFTP file drop on this port (RECARD_FILE_DROP_PORT; with --demo, 2222 unless set)',
    )
    .option(
      '--processes <n>',
      'run N API processes on one port (node:cluster); each also runs a job worker unless --no-worker',
      (v) => intArg(v, 'processes'),
      1,
    )
    .action(
      async (opts: {
        worker: boolean;
        demo?: boolean;
        tlsCert?: string;
        tlsKey?: string;
        clientCa?: string;
        fileDropPort?: string;
        processes: number;
      }) => {
        // Flags win over the environment; the settings loader reads both the same way.
        if (opts.tlsCert) process.env.RECARD_TLS_CERT = opts.tlsCert;
        if (opts.tlsKey) process.env.RECARD_TLS_KEY = opts.tlsKey;
        if (opts.clientCa) process.env.RECARD_TLS_CLIENT_CA = opts.clientCa;
        if (opts.fileDropPort) process.env.RECARD_FILE_DROP_PORT = opts.fileDropPort;
        if (opts.processes < 1) throw new CliError('--processes must be at least 1');
        if (opts.processes > 1 && cluster.isPrimary) {
          // The demo's simulated issuers keep state in their process: N copies would redeem a card N times.
          if (opts.demo) throw new CliError('--demo runs in one process; leave out --processes');
          await superviseCommand(opts.processes);
          return;
        }
        const quiet = cluster.isWorker;
        await withContext(
          async (ctx) => {
            const sims = opts.demo ? await startDemoIssuers(ctx) : undefined;
            const fxFeed = opts.demo ? await startDemoFxFeed(ctx) : undefined;
            const payoutSims = opts.demo ? await startDemoPayouts(ctx) : undefined;
            const server = await startServer(ctx, { worker: opts.worker });
            const dropPort = ctx.config.fileDropPort ?? (opts.demo ? 2222 : undefined);
            const fileDrop = dropPort === undefined ? undefined : await startContextFileDrop(ctx, dropPort);
            if (opts.demo) {
              const demo = await ensureDemoChannel(ctx);
              const usdt = await ensureDemoChannel(ctx, DEMO_USDT_CHANNEL_ID, DEMO_USDT_CHANNEL);
              await ensureDemoSellers(ctx);
              const card = sims?.cards.find((c) => c.cardType === 'cmcc_national' && c.label === 'valid');
              out(
                [
                  '',
                  `Recard ${VERSION} is running at ${server.url} (${ctx.storage.describe})`,
                  `  API reference:  ${server.url}/docs`,
                  `  Demo channel:   ${demo.channel.id}`,
                  `  Channel secret: ${demo.secret}`,
                  `  Webhook secret: ${demo.webhookSecret}`,
                  `  USDT channel:   ${usdt.channel.id}  secret ${usdt.secret}  (CNY cards, sellers paid in USDT)`,
                  `  Admin token:    ${ctx.adminToken}   (Authorization: Bearer … on /admin/v1)`,
                  '  Try a signed call:',
                  `    RECARD_URL=${server.url} RECARD_CHANNEL_ID=${demo.channel.id} RECARD_CHANNEL_SECRET=${demo.secret} \\`,
                  '      node bin/recard.js call GET /v1/channel',
                  '  What a card is worth (quote held 10 minutes; add its quote_id to the order):',
                  '      node bin/recard.js call GET "/v1/quotes?card_type=cmcc_national&face_value=10000"',
                  '  Issuers are simulated in this process (docs/test-cards.md lists cards to try), e.g.:',
                  `    node bin/recard.js call POST /v1/orders --data '${JSON.stringify({
                    merchant_order_id: 'demo-1',
                    card_type: card?.cardType,
                    card_number: card?.number,
                    card_secret: card?.secret,
                    declared_face_value: card?.declaredFaceValue,
                    seller: { id: 'seller-1' },
                  })}'`,
                  '  Sellers s1 and seller-1 are verified with a simulated Alipay account: the card goes redeemed → settled → paid.',
                  ...(fileDrop
                    ? [
                        `  SFTP file drop:  sftp -P ${fileDrop.port} ${demo.channel.id}@127.0.0.1   (password: the channel secret)`,
                        '      put cmcc_national.10000.stock.txt in/   →   get out/cmcc_national.10000.stock.txt.report.csv',
                        '  Batch files over the API (docs/batches.md):',
                        '      node bin/recard.js batch submit cards.csv --id my-first-batch',
                      ]
                    : []),
                  '      node bin/recard.js call GET /v1/balance      node bin/recard.js call GET /v1/payouts',
                  '',
                ].join('\n'),
              );
            } else if (!quiet) {
              // Under --processes the supervisor says where the processes listen, once.
              out(`Recard ${VERSION} is running at ${server.url} (${ctx.storage.describe})`);
              if (fileDrop) out(`SFTP file drop on port ${fileDrop.port}`);
            }
            const signal = await untilSignal();
            ctx.logger.info({ signal }, 'shutting down');
            await fileDrop?.close();
            await server.stop();
            await sims?.close();
            await fxFeed?.close();
            await payoutSims?.close();
          },
          { server: true },
        );
        // A cluster process stays alive while its channel to the supervisor is open: closed, it exits.
        if (cluster.isWorker) cluster.worker?.disconnect();
      },
    );

  program
    .command('worker')
    .description('Run a job worker only (several may share one PostgreSQL database)')
    .option(
      '--port <n>',
      'port of its /healthz, /readyz and /metrics (RECARD_WORKER_PORT, default 9464; 0 picks one)',
      (v) => intArg(v, 'port'),
    )
    .action(async (opts: { port?: number }) => {
      if (opts.port !== undefined) process.env.RECARD_WORKER_PORT = String(opts.port);
      await withContext(
        async (ctx) => {
          const runtime = startWorker(ctx);
          const ops = await startWorkerOps(ctx, runtime, ctx.config.workerPort);
          out(
            `Recard ${VERSION} worker ${runtime.workerId} (${ctx.storage.describe}); operations at ${ops.url}`,
          );
          const signal = await untilSignal();
          ctx.logger.info({ signal }, 'shutting down');
          // Probes see it go (503 while closing), then the jobs in hand finish or are handed back.
          await ops.app.close();
          await runtime.stop(ctx.config.shutdownGraceMs);
        },
        { server: true },
      );
    });

  program
    .command('simulate')
    .description(
      'Run the simulated issuers (SOAP, JSON-RPC, REST, batch file) and the exchange-rate feed on their own',
    )
    .option('--port <n>', 'first port; issuers take consecutive ports', (v) => intArg(v, 'port'), 4100)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--seed <seed>', 'card base seed', DEFAULT_SEED)
    .option('--latency-ms <n>', 'latency of every answer', (v) => intArg(v, 'latency-ms'), 20)
    .option('--jitter-ms <n>', 'plus uniform random 0..n ms', (v) => intArg(v, 'jitter-ms'), 0)
    .option(
      '--publish-every-ms <n>',
      'batch-file issuer publication period',
      (v) => intArg(v, 'publish-every-ms'),
      5000,
    )
    .option(
      '--valid-per-type <n>',
      'valid cards per card type in the base',
      (v) => intArg(v, 'valid-per-type'),
      20,
    )
    .option('--print-cards', 'print the test-card table (docs/test-cards.md) and exit')
    .action(
      async (opts: {
        port: number;
        host: string;
        seed: string;
        latencyMs: number;
        jitterMs: number;
        publishEveryMs: number;
        validPerType: number;
        printCards?: boolean;
      }) => {
        if (opts.printCards) {
          process.stdout.write(renderTestCards(opts.seed));
          return;
        }
        const sims = await startSimulators({
          seed: opts.seed,
          basePort: opts.port,
          host: opts.host,
          faults: { ...NO_FAULTS, latencyMs: opts.latencyMs, jitterMs: opts.jitterMs },
          publishEveryMs: opts.publishEveryMs,
          perLabel: { valid: opts.validPerType },
        });
        // The exchange-rate feed takes the port after the issuers'.
        const fx = await startFxFeedSimulator({
          port: opts.port ? opts.port + Object.keys(SIM_ISSUERS).length : 0,
          host: opts.host,
        });
        // The SMS gateway takes the port after the feed's; its key is derived from the seed.
        const sms = await startSmsSimulator({
          port: opts.port ? opts.port + Object.keys(SIM_ISSUERS).length + 1 : 0,
          host: opts.host,
          secret: createHash('sha256').update(`sms-key:${opts.seed}`).digest('hex').slice(0, 32),
        });
        for (const [issuer, sim] of sims.byIssuer)
          out(`${issuer.padEnd(18)} ${sim.protocol.padEnd(10)} ${sim.url}`);
        out(`${'fx_feed'.padEnd(18)} ${'json'.padEnd(10)} ${fx.url}   (RECARD_FX_FEED_URL=${fx.feedUrl})`);
        out(
          `${'sms_gateway'.padEnd(18)} ${'json'.padEnd(10)} ${sms.url}   (RECARD_SMS_URL=${sms.url} RECARD_SMS_KEY=${sms.adapterConfig.secret}; GET /__sim/messages?to=)`,
        );
        out(`${sims.cards.length} cards (seed ${opts.seed}); GET <url>/__sim/cards, PUT <url>/__sim/faults`);
        await untilSignal();
        await sims.close();
        await fx.close();
        await sms.close();
      },
    );

  program
    .command('openapi')
    .description('Print the OpenAPI document (the one /openapi.json serves), built without touching any data')
    .action(async () => {
      // A throw-away in-memory database and data folder: the document depends on the build only.
      const dataDir = mkdtempSync(join(tmpdir(), 'recard-openapi-'));
      try {
        const config = loadConfig({}, { databaseUrl: 'sqlite::memory:', dataDir, logLevel: 'silent' });
        const ctx = await createContext(config, { logger: createLogger('silent', { stderr: true }) });
        try {
          const app = await buildApi(ctx, null);
          await app.ready();
          out(JSON.stringify(app.swagger(), null, 2));
          await app.close();
        } finally {
          await ctx.close();
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

  program
    .command('migrate')
    .description('Bring the database schema up to date (also done at start-up)')
    .option('--status', 'only show applied and pending migrations')
    .action(async (opts: { status?: boolean }) => {
      const config = loadConfig();
      const storage = await openStorage({
        url: config.databaseUrl,
        schema: config.databaseSchema,
        poolSize: 1,
      });
      try {
        if (opts.status) {
          const s = await schemaStatus(storage);
          out(`applied: ${s.applied.join(', ') || 'none'}\npending: ${s.pending.join(', ') || 'none'}`);
          if (s.unknown.length > 0) out(`unknown to this version: ${s.unknown.join(', ')}`);
          return;
        }
        const applied = await migrateToLatest(storage);
        out(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      } finally {
        await storage.close();
      }
    });

  const channels = program.command('channels').description('Manage the channels that call the API');
  const kindOption = new Option('--kind <kind>', 'what kind of partner')
    .choices(CHANNEL_KINDS)
    .makeOptionMandatory();
  channels
    .command('create')
    .description(
      "Create a channel and print its id and secrets (shown once; store them in the channel's vault)",
    )
    .requiredOption('--name <name>', 'display name')
    .addOption(kindOption)
    .option('--callback-url <url>', 'where callbacks are sent', (v) => {
      if (!/^https?:\/\/\S+$/.test(v)) throw new InvalidArgumentError('must be an http(s) URL');
      return v;
    })
    .addOption(
      new Option(
        '--face-value-policy <policy>',
        'when the issuer reports another face value (docs/verification.md)',
      )
        .choices(FACE_VALUE_POLICIES)
        .default('review'),
    )
    .addOption(
      new Option(
        '--settlement-currency <code>',
        "pay sellers in this currency (default: the card's)",
      ).choices(CURRENCY_CODES),
    )
    .option('--group <id>', 'channel group whose rate sheets apply (create it at /admin/v1/channel-groups)')
    .option(
      '--sign-types <list>',
      "comma-separated signature schemes it may use (default: its kind's, docs/signing.md#schemes)",
      (v) => {
        const list = v.split(',').map((x) => x.trim());
        const bad = list.find((x) => !(SIGNATURE_SCHEMES as readonly string[]).includes(x));
        if (bad || list.length === 0)
          throw new InvalidArgumentError(`each must be one of ${SIGNATURE_SCHEMES.join(', ')}`);
        return list as SignatureScheme[];
      },
    )
    .action(
      async (opts: {
        name: string;
        kind: ChannelKind;
        signTypes?: SignatureScheme[];
        callbackUrl?: string;
        faceValuePolicy: FaceValuePolicy;
        settlementCurrency?: Currency;
        group?: string;
      }) => {
        await withContext(async (ctx) => {
          const created = await ctx.channels.create({
            name: opts.name,
            kind: opts.kind,
            face_value_policy: opts.faceValuePolicy,
            ...(opts.settlementCurrency ? { settlement_currency: opts.settlementCurrency } : {}),
            ...(opts.group ? { group_id: opts.group } : {}),
            ...(opts.callbackUrl ? { callback_url: opts.callbackUrl } : {}),
            ...(opts.signTypes ? { auth: { schemes: opts.signTypes } } : {}),
          });
          if (!created.ok) {
            process.stderr.write(`recard: ${created.field ?? 'channel'}: ${created.message}\n`);
            process.exitCode = 2;
            return;
          }
          out(
            `channel id:     ${created.value.channel.id}\nchannel secret: ${created.value.secret}\nwebhook secret: ${created.value.webhookSecret}`,
          );
          out('The secrets are shown once. They are stored encrypted and cannot be shown again.');
        });
      },
    );
  channels
    .command('list')
    .description('List channels')
    .action(async () => {
      await withContext(async (ctx) => {
        for (const c of await ctx.channels.list())
          out(
            `${c.id}  ${c.status.padEnd(8)}  ${c.kind.padEnd(9)}  ${(c.settlement_currency ?? '-').padEnd(4)}  ${(c.group_id ?? '-').padEnd(12)}  ${c.name}`,
          );
      });
    });
  for (const [verb, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    channels
      .command(`${verb} <id>`)
      .description(`${verb === 'disable' ? 'Refuse' : 'Accept again'} every call from a channel`)
      .action(async (id: string) => {
        await withContext(async (ctx) => {
          if (!(await ctx.channels.setStatus(id, status))) throw new CliError(`no channel ${id}`);
          out(`${id} is ${status}`);
        });
      });
  }

  channels
    .command('rotate-secret <id>')
    .description(
      "Replace a channel's API secret (sk_) or webhook secret (whsec_) and print the new one (shown once). The old one " +
        'keeps working through the overlap: API calls signed with either verify; callbacks carry both signatures.',
    )
    .addOption(new Option('--kind <kind>', 'which secret').choices(SECRET_KINDS).makeOptionMandatory())
    .option(
      '--overlap <seconds>',
      'how long the old secret keeps working (default RECARD_SECRET_OVERLAP_S)',
      (v) => {
        if (!/^\d{1,6}$/.test(v) || Number(v) > 604_800)
          throw new InvalidArgumentError('must be whole seconds, at most 604800 (7 days)');
        return Number(v);
      },
    )
    .action(async (id: string, opts: { kind: SecretKind; overlap?: number }) => {
      await withContext(async (ctx) => {
        const overlapS = opts.overlap ?? ctx.config.secretOverlapS;
        const r = await ctx.channels.rotateSecret(id, opts.kind, overlapS * 1000);
        if (!r.ok) throw new CliError(r.message);
        out(`new ${opts.kind} secret: ${r.value.secret}`);
        out(`the old one works until ${r.value.previous_valid_until}. The new one is shown once.`);
      });
    });

  const adminCmd = program.command('admin').description('Manage the operators of the admin API');
  adminCmd
    .command('create')
    .description(
      'Create an admin user. The password is read from stdin when one is piped in; otherwise one is generated and printed once',
    )
    .requiredOption('--username <name>', 'login name (lower-case letters, digits, . _ -)')
    .addOption(new Option('--role <role>', 'what the user may do').choices(ADMIN_ROLES).makeOptionMandatory())
    .action(async (opts: { username: string; role: AdminRole }) => {
      // A terminal is never read from (the password would echo); an empty pipe means "generate one".
      const given = process.stdin.isTTY ? '' : (await readStdin()).replace(/\r?\n$/, '');
      const generated = given === '';
      const password = generated ? generatePassword() : given;
      const input = { username: opts.username, role: opts.role, password };
      if (!Value.Check(NewAdminUser, input)) {
        const issue = [...Value.Errors(NewAdminUser, input)][0];
        // The password itself is never echoed, only which field is wrong.
        throw new CliError(`${issue?.path.slice(1) || 'input'}: ${issue?.message ?? 'not valid'}`);
      }
      await withContext(async (ctx) => {
        const made = await ctx.admins.create(input);
        if (!made.ok) throw new CliError(made.message);
        out(`admin user ${made.value.username} (${made.value.role}): ${made.value.id}`);
        if (generated) out(`password: ${password}\nThe password is shown once. Only its hash is stored.`);
      });
    });

  program
    .command('backup <file>')
    .description(
      'Online backup of the SQLite database into a new file, while servers and workers run (docs/operations.md#backups)',
    )
    .action(async (file: string) => {
      const config = loadConfig();
      if (isPostgresUrl(config.databaseUrl))
        throw new CliError(
          'recard backup copies the embedded SQLite database; on PostgreSQL use pg_dump and WAL archiving (docs/operations.md#postgresql)',
        );
      const source = sqlitePath(config.databaseUrl);
      try {
        const r = await backupSqlite(source, file);
        out(
          `backup of sqlite:${source} written to ${file}: ${r.pages} pages, ${(r.bytes / 1048576).toFixed(1)} MiB in ${(r.ms / 1000).toFixed(1)} s; quick_check ok`,
        );
        out(
          'The keys are not in it: keep RECARD_DATA_DIR/keys.json (or RECARD_CHANNEL_KEY, RECARD_CARD_MASTER_KEY and RECARD_CARD_HASH_KEY) backed up apart from it.',
        );
      } catch (err) {
        if (err instanceof BackupError) throw new CliError(err.message);
        throw err;
      }
    });

  const ledgerCmd = program.command('ledger').description('The double-entry ledger');
  ledgerCmd
    .command('check')
    .description(
      'Check every ledger invariant and that orders and payouts match their entries; exits 1 with a report on any violation',
    )
    .action(async () => {
      await withContext(async (ctx) => {
        const report = await checkLedger(ctx);
        for (const v of report.violations) out(`VIOLATION ${v.rule} ${v.subject}: ${v.detail}`);
        out(
          `checked ${report.orders} orders and ${report.payouts} payouts: ${report.violations.length === 0 ? 'clean' : `${report.violations.length} violation(s)`}`,
        );
        if (report.violations.length > 0) process.exitCode = 1;
      });
    });

  const keys = program.command('keys').description('Manage encryption keys');
  keys
    .command('shred')
    .description(
      'Delete the data keys of cards paid more than RECARD_CARD_RETENTION_DAYS ago (crypto-shredding; the scheduled job does it hourly)',
    )
    .option('--dry-run', 'only count what would be removed')
    .action(async (opts: { dryRun?: boolean }) => {
      await withContext(async (ctx) => {
        const before = ctx.clock.now() - ctx.config.cardRetentionDays * 86_400_000;
        const n = await ctx.orders.shredPaidCards(before, opts.dryRun === true, Number.MAX_SAFE_INTEGER);
        out(
          opts.dryRun
            ? `would shred ${n} card data keys (orders paid before ${new Date(before).toISOString()})`
            : `shredded ${n} card data keys`,
        );
      });
    });
  keys
    .command('rotate')
    .description(
      'Re-wrap every card data key under the active card master key. With RECARD_CARD_MASTER_KEY set, make the new ' +
        'key active (old one in RECARD_CARD_MASTER_KEYS_RETIRED) on every process first; with the generated keys ' +
        'file, this command makes the new key itself and running servers pick it up within a second.',
    )
    .action(async () => {
      await withContext(async (ctx) => {
        if (!ctx.config.cardMasterKey) {
          const keyId = rotateFileCardMasterKey(ctx.config.dataDir);
          out(`new card master key ${keyId} is active in ${ctx.config.dataDir}/keys.json`);
          await sleep(KEY_RELOAD_WAIT_MS); // running servers re-read the file at most once a second
        }
        let total = await ctx.orders.rewrapAll();
        await sleep(KEY_RELOAD_WAIT_MS); // a second pass catches cards sealed just before servers reloaded
        total += await ctx.orders.rewrapAll();
        if (!ctx.config.cardMasterKey) dropRetiredFileCardKeys(ctx.config.dataDir);
        out(`re-wrapped ${total} card data keys; no card is sealed under a retired key any more`);
      });
    });

  program
    .command('call <method> <path>')
    .description('Make a signed API call (RECARD_URL, RECARD_CHANNEL_ID, RECARD_CHANNEL_SECRET)')
    .option('--data <json>', 'JSON request body')
    .action(async (method: string, path: string, opts: { data?: string }) => {
      const client = channelClient();
      let body: unknown;
      try {
        body = opts.data === undefined ? undefined : JSON.parse(opts.data);
      } catch {
        throw new CliError('--data is not valid JSON');
      }
      const res = await client.request(method.toUpperCase(), path, body);
      out(`HTTP ${res.status}\n${JSON.stringify(res.body, null, 2)}`);
      if (res.status >= 400) process.exitCode = 1;
    });

  const batch = program
    .command('batch')
    .description('Batch card files (docs/batches.md); RECARD_URL, RECARD_CHANNEL_ID, RECARD_CHANNEL_SECRET');
  batch
    .command('submit <file>')
    .description('Upload a card file and show its progress until every line has an outcome')
    .requiredOption(
      '--id <merchant_batch_id>',
      "your own id for the file (repeat it to get the first batch's answer)",
    )
    .option('--format <format>', 'csv, text or xlsx (default: from the file name)')
    .option('--card-type <code>', 'text files: the card type of every line')
    .option('--face-value <minor units>', 'text files: the declared face value of every line, in fen')
    .option('--encoding <encoding>', 'utf-8 or gb18030 (default: detected)')
    .option('--no-wait', 'print the batch and return at once')
    .action(
      async (
        file: string,
        opts: {
          id: string;
          format?: string;
          cardType?: string;
          faceValue?: string;
          encoding?: string;
          wait: boolean;
        },
      ) => {
        const client = channelClient();
        const format = opts.format ?? formatOfFile(file);
        const params: Record<string, string | number> = { merchant_batch_id: opts.id, format };
        if (opts.cardType) params.card_type = opts.cardType;
        if (opts.faceValue) params.declared_face_value = opts.faceValue;
        if (opts.encoding) params.encoding = opts.encoding;
        const res = await client.uploadBatch<BatchView & { message?: string }>(
          params,
          readFileSync(file),
          basename(file),
        );
        if (res.status >= 400) throw new CliError(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
        let view = res.body;
        if (!opts.wait) {
          out(JSON.stringify(view, null, 2));
          return;
        }
        const bar = new ProgressLine(process.stderr);
        for (;;) {
          bar.show(view);
          if (view.completed_at) break;
          await new Promise((r) => setTimeout(r, 1_000));
          const next = await client.get<BatchView>(`/v1/batches/${view.id}`);
          if (next.status !== 200) throw new CliError(`HTTP ${next.status}: ${JSON.stringify(next.body)}`);
          view = next.body;
        }
        bar.done();
        out(JSON.stringify(view, null, 2));
      },
    );
  batch
    .command('report <id>')
    .description("Download a batch's per-line report and check its SHA-256")
    .option('--format <format>', 'csv or xlsx', 'csv')
    .option('--out <file>', 'write it here (default: <id>.report.<format>)')
    .action(async (id: string, opts: { format: string; out?: string }) => {
      const res = await channelClient().download(`/v1/batches/${id}/report?format=${opts.format}`);
      if (res.status !== 200) throw new CliError(`HTTP ${res.status}: ${res.body.toString('utf8')}`);
      const digest = createHash('sha256').update(res.body).digest('hex');
      if (digest !== res.headers.get('x-recard-content-sha256'))
        throw new CliError('the report does not match the SHA-256 Recard sent with it');
      const target = opts.out ?? `${id}.report.${opts.format}`;
      writeFileSync(target, res.body);
      out(`${target}  sha256 ${digest}`);
    });

  return program;
}

class CliError extends Error {}

/** The channel client of `recard call` and `recard batch`, from the environment. */
function channelClient(): RecardClient {
  const {
    RECARD_URL: baseUrl = 'http://127.0.0.1:3000',
    RECARD_CHANNEL_ID: channelId,
    RECARD_CHANNEL_SECRET: secret,
  } = process.env;
  if (!channelId || !secret) throw new CliError('set RECARD_CHANNEL_ID and RECARD_CHANNEL_SECRET');
  return new RecardClient({ baseUrl, channelId, secret });
}

function formatOfFile(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.xlsx') return 'xlsx';
  if (ext === '.txt' || ext === '') return 'text';
  throw new CliError(`cannot tell the format of ${file}: give --format csv, text or xlsx`);
}

/** One line on the terminal, redrawn: a bar of the lines that have an outcome, and the counts. */
class ProgressLine {
  constructor(private readonly stream: NodeJS.WriteStream) {}

  show(b: BatchView): void {
    const c = b.counts;
    const finished = c.read - c.pending - c.verifying;
    const share = c.read === 0 ? 1 : finished / c.read;
    const width = 30;
    const filled = Math.round(share * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const text = `${bar} ${finished}/${c.read}  redeemed ${c.redeemed}  invalid ${c.invalid}  refused ${c.refused}  review ${c.review}  verifying ${c.verifying}`;
    if (this.stream.isTTY) this.stream.write(`\r${text}\x1b[K`);
    else this.stream.write(`${text}\n`);
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SchemaTooNewError || err instanceof CliError) {
      console.error(`recard: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error('recard: failed:', err);
    process.exitCode = 1;
  }
}
