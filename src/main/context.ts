import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { jsonFeedSource } from '../adapters/fx/json-feed.js';
import type { FxRateSource } from '../adapters/fx/port.js';
import { ipLocator } from '../adapters/geo/index.js';
import { OutboundGuard, parseAllowlist } from '../adapters/outbound/index.js';
import type { PayoutProvider } from '../adapters/payouts/port.js';
import { type NotificationKeys, verifyNotification } from '../adapters/payouts/wechat/adapter.js';
import { smsSenderFromConfig } from '../adapters/sms/index.js';
import { loadSecrets } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import { RateLimits } from '../http/rate-limit/limiter.js';
import { type BucketStore, MemoryBuckets, RedisBuckets } from '../http/rate-limit/stores.js';
import { PRUNE_JOBS, pruneJobsHandler } from '../jobs/maintenance.js';
import type { AnyJobHandler } from '../jobs/model.js';
import type { Schedule } from '../jobs/runtime.js';
import { countJobsByState } from '../jobs/store.js';
import {
  type AdminService,
  type AuditLog,
  createAdminService,
  createAuditLog,
  PRUNE_SESSIONS,
  pruneSessionsHandler,
} from '../modules/admins/index.js';
import {
  BATCH_EVENT_TYPES,
  type BatchService,
  createBatchService,
  PRUNE_UPLOADS,
} from '../modules/batches/index.js';
import { type CardTypeService, createCardTypeService } from '../modules/cards/index.js';
import {
  type Authenticator,
  activeKeys,
  type ChannelService,
  createAuthenticator,
  createChannelService,
  createKeyRegistry,
  createOauthService,
  type KeyRegistry,
  type OauthService,
  PRUNE_NONCES,
  pruneNoncesHandler,
} from '../modules/channels/index.js';
import {
  createEventLog,
  createEventService,
  type EventLog,
  type EventService,
  EventStreamHub,
  Sequencer,
  type Subscriber,
} from '../modules/events/index.js';
import {
  createIdempotency,
  type Idempotency,
  PRUNE_IDEMPOTENCY,
  pruneIdempotencyHandler,
} from '../modules/idempotency/index.js';
import { createLedger, EXPIRE_PENDING, type Ledger, ledgerSubscriber } from '../modules/ledger/index.js';
import {
  countsOf,
  createLockoutService,
  type LockoutService,
  lockoutSubscriber,
  PRUNE_LOCKOUTS,
  pruneLockoutsHandler,
} from '../modules/lockouts/index.js';
import {
  createOrderService,
  createOrderTransitions,
  ORDER_EVENT_TYPES,
  type OrderService,
  SHRED_CARDS,
  VERIFY_BATCH_ORDER,
  VERIFY_ORDER,
} from '../modules/orders/index.js';
import {
  ADJUST_RATES,
  adjustRatesHandler,
  createPricingAdmin,
  createPricingService,
  PRUNE_PRICING,
  type PricingAdmin,
  PricingBook,
  type PricingService,
  prunePricingHandler,
  REFRESH_FX,
  refreshFxHandler,
} from '../modules/pricing/index.js';
import { createReviewService, type ReviewService, reviewSubscriber } from '../modules/reviews/index.js';
import {
  COMPUTE_RINGS,
  createRiskCounters,
  createRiskService,
  createStepUps,
  PRUNE_RISK_COUNTERS,
  PRUNE_RISK_LINKS,
  pruneRiskCountersHandler,
  pruneRiskLinksHandler,
  type RiskService,
  recordLinks,
  ringsJobHandler,
  ringsPayload,
  riskOutcomesSubscriber,
  SEND_STEP_UP,
  type StepUps,
} from '../modules/risk/index.js';
import {
  createSellerLogins,
  createSellerService,
  type SellerLogins,
  type SellerService,
} from '../modules/sellers/index.js';
import {
  createSettlementService,
  type NotificationDeps,
  PAYOUT_EVENT_TYPES,
  type PayoutDeps,
  SEND_PAYOUT,
  type SettlementService,
  SWEEP_SETTLEMENT,
  sendPayoutHandler,
  settlementSubscriber,
  sweepSettlementHandler,
} from '../modules/settlement/index.js';
import {
  CodeBook,
  createIssuerAdminService,
  type IssuerAdminService,
  IssuerRouter,
  SWEEP_VERIFYING,
  sweepVerifyingHandler,
  verifyOrderHandler,
} from '../modules/verification/index.js';
import {
  type CallbackTestService,
  callbackSubscriber,
  checkOrderCallbackUrl,
  createCallbackTestService,
  createDeliveryService,
  createEndpointService,
  DELIVER,
  type DeliveryService,
  deliverHandler,
  ENDPOINT_DISABLED,
  type EndpointService,
  endpointView,
  TEST_DELIVERY,
  testDeliveryHandler,
  WEBHOOK_EVENT_TYPES,
} from '../modules/webhooks/index.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { failFastRedis } from '../shared/redis.js';
import { createSignaturePool, type SignaturePool } from '../shared/signature-pool.js';
import { type CryptoSuite, cryptoSuite } from '../shared/suite.js';
import { type ChangeFeed, noChangeFeed, startPgChangeFeed } from '../storage/change-feed.js';
import { openStorage, type Storage } from '../storage/database.js';
import { type Committer, createCommitter } from '../storage/group-commit.js';
import { migrateToLatest } from '../storage/migrate.js';
import { channelKeyCrypto } from './key-signatures.js';
import { loadPayoutProviders } from './payout-providers.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const TEN_MINUTES = 10 * 60_000;
const AFTER_COMMIT_MS = 2;
const KEEP_SUCCEEDED_JOBS_MS = 7 * 24 * 60 * 60_000;
const KEEP_UNUSED_PRICING_MS = 7 * 24 * 60 * 60_000;
/** Ended lockouts stay listed in the database a while for whoever investigates them. */
const KEEP_ENDED_LOCKOUTS_MS = 30 * 24 * 60 * 60_000;

/** The object graph of one Recard process. Built here and nowhere else. */
export interface Context {
  config: Config;
  /** RECARD_CRYPTO_SUITE: what new secrets and keyed hashes use, and which request signatures count. */
  suite: CryptoSuite;
  /** Threads for SM2 verification (started at the first one; verifyChannelSignature's `pool`). */
  signaturePool: SignaturePool;
  /** The admin API's bearer token. */
  adminToken: string;
  logger: Logger;
  clock: Clock;
  storage: Storage;
  /** Every request-path write goes through it (group commit on SQLite). */
  committer: Committer;
  metrics: Metrics;
  channels: ChannelService;
  cardTypes: CardTypeService;
  orders: OrderService;
  /** Card lockouts and wrong-secret blocks of sellers, devices and IPs (docs/security.md). */
  lockouts: LockoutService;
  callbackTests: CallbackTestService;
  /** Webhook endpoints and the delivery log. */
  webhooks: { endpoints: EndpointService; deliveries: DeliveryService };
  /** Every outbound call to an address a channel chose goes through it. */
  outbound: OutboundGuard;
  /** Live event streams (SSE, WebSocket) of this process. */
  streams: EventStreamHub;
  issuerAdmin: IssuerAdminService;
  pricing: PricingService;
  pricingAdmin: PricingAdmin;
  /** Where exchange rates are read from (RECARD_FX_FEED_URL; `serve --demo` sets the simulator). */
  fxSource: FxRateSource | undefined;
  router: IssuerRouter;
  /** Tells the deployment's other processes of configuration changes (PostgreSQL LISTEN/NOTIFY). */
  changes: ChangeFeed;
  authenticate: Authenticator;
  /** Channels' registered public keys (RSA, SM2). */
  channelKeys: KeyRegistry;
  /** OAuth 2.0 client credentials and the access tokens' keys. */
  oauth: OauthService;
  /** Token buckets per channel and per client address (docs/limits.md); in Redis when REDIS_URL is set. */
  rateLimits: RateLimits;
  /** The event backbone: every event type of this build and the subscribers that react to them. */
  events: EventLog;
  eventQueries: EventService;
  /** Numbers committed events in commit order on PostgreSQL; started with a worker. */
  sequencer: Sequencer;
  ledger: Ledger;
  sellers: SellerService;
  /** Admin users and their sessions. */
  admins: AdminService;
  /** The audit log of admin actions. */
  audit: AuditLog;
  /** Seller accounts and sessions of h5 channels' seller page (docs/h5-sellers.md). */
  sellerLogins: SellerLogins;
  settlement: SettlementService;
  /** The risk engine: rules at intake and after the issuer answers, blacklists, reports (docs/risk.md). */
  risk: RiskService;
  /** Step-up SMS codes asked of sellers (docs/risk.md#step-up). */
  stepUps: StepUps;
  /** The manual review queue (docs/reviews.md). */
  reviews: ReviewService;
  /** Batch card files: uploads, their lines as orders, progress and reports (docs/batches.md). */
  batches: BatchService;
  /** `Idempotency-Key` on POST, for both APIs (docs/idempotency.md). */
  idempotency: Idempotency;
  /** Payout providers by name (RECARD_PAYOUT_PROVIDERS_FILE; `serve --demo` and tests set the simulators'). */
  payoutProviders: Map<string, PayoutProvider>;
  /** What checks WeChat Pay's notifications (its platform key and APIv3 key), when it is configured. */
  wechatNotificationKeys: NotificationKeys | undefined;
  /** Where providers' notifications are taken (`/notify/payouts/…`). */
  payoutNotifications: NotificationDeps;
  jobHandlers: AnyJobHandler[];
  schedules: Schedule[];
  /** Set by whoever starts an in-process worker, so that new work is picked up at once. */
  wakeWorker: (kinds?: readonly string[]) => void;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Run migrations at start (default true; `recard migrate` does it on its own). */
  migrate?: boolean;
  /** Subscribers beside the build's own (tests add probes; every process of a deployment must agree). */
  subscribers?: Subscriber[];
}

/**
 * How long configuration caches live while the change feed is live (storage/change-feed.ts): a
 * change is then forgotten when it is told, and the lifetime only bounds a notice lost.
 */
const TOLD_CACHE_MS = 30_000;

/** Every event type of this build. */
const EVENT_TYPES = [
  ...ORDER_EVENT_TYPES,
  ...WEBHOOK_EVENT_TYPES,
  ...PAYOUT_EVENT_TYPES,
  ...BATCH_EVENT_TYPES,
];
const CHANNEL_EVENT_TYPES = EVENT_TYPES.filter((t) => t.visibility === 'channel').map((t) => t.type);

export async function createContext(config: Config, options: ContextOptions = {}): Promise<Context> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const suite = cryptoSuite(config.cryptoSuite);
  const signaturePool = createSignaturePool();
  const secrets = loadSecrets(config);
  const keyring = secrets.channelKeyring;
  if (secrets.generated.length > 0) {
    logger.warn(
      { path: secrets.path, keys: secrets.generated },
      'generated new keys; back the file up: losing channel_key makes every channel secret unreadable',
    );
  }
  const storage = await openStorage({
    url: config.databaseUrl,
    schema: config.databaseSchema,
    poolSize: config.pgPoolSize,
    onConnectionLost: (err) =>
      logger.warn({ err: err.message }, 'a database connection was cut; the next query opens another'),
  });
  try {
    if (options.migrate !== false) {
      const applied = await migrateToLatest(storage);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
    }
  } catch (err) {
    await storage.close();
    throw err;
  }
  const db = storage.db;
  // Other processes on the same PostgreSQL schema are told of configuration changes (LISTEN/NOTIFY);
  // while they are, the caches below may live long, as a change no longer waits for them to expire.
  const changes =
    storage.dialect === 'postgres'
      ? await startPgChangeFeed({
          url: config.databaseUrl,
          schema: storage.schema ?? 'public',
          logger,
          notify: async (channel, payload) => {
            await sql`select pg_notify(${channel}, ${payload})`.execute(db);
          },
        })
      : noChangeFeed;
  const cacheLife = (short: number) => () => (changes.live ? TOLD_CACHE_MS : short);
  const channels = createChannelService({
    db,
    keyring,
    clock,
    activeKeys,
    credentialsTtlMs: cacheLife(1_000),
    onChanged: (id) => changes.publish('channel', id),
  });
  changes.on('channel', (id) => channels.forgetCached(id));
  const keyCrypto = channelKeyCrypto(signaturePool);
  const channelKeys = createKeyRegistry({ db, clock, parse: keyCrypto.parse, forget: channels.forget });
  const oauth = createOauthService({
    db,
    keyring,
    clock,
    channels,
    settings: {
      issuer: config.oauthIssuer,
      audience: config.oauthAudience,
      tokenTtlS: config.oauthTokenTtlS,
      keyRotationS: config.oauthKeyRotationS,
    },
  });
  const committer = createCommitter(db, storage.dialect);
  const router = new IssuerRouter({
    db,
    keyring,
    clock,
    cacheMs: cacheLife(2_000),
    onRouteSkipped: (route, why) => metrics.routeSkips.inc({ route, why }),
  });
  changes.on('issuer_routes', () => router.forgetRoutes());
  const codes = new CodeBook(db, clock);
  const metrics = createMetrics(
    () => countJobsByState(db),
    () => committer.stats(),
    () => router.circuitStates(),
    () => reviews.waiting(),
    () => clock.now(),
  );
  const fxMaxAgeMs = config.fxMaxAgeS * 1000;
  const book = new PricingBook(db, clock, config.pricingRefreshMs, fxMaxAgeMs);
  const cardTypes = createCardTypeService({
    db,
    clock,
    cacheMs: cacheLife(1_000),
    onChanged: (code) => changes.publish('card_type', code),
  });
  changes.on('card_type', (code) => cardTypes.forgetCached(code));
  const pricing = createPricingService({
    db,
    committer,
    clock,
    book,
    quoteTtlMs: config.quoteTtlS * 1000,
    fxMaxAgeMs,
    fxRetryAfterS: Math.max(1, Math.ceil(config.fxPollMs / 1000)),
    onRefused: (code) => metrics.pricingRefusals.inc({ code }),
    cardTypes,
  });
  const sequencer = new Sequencer(db, storage.dialect, config.eventSequencerPollMs, logger);
  const outbound = new OutboundGuard({
    allowlist: parseAllowlist(config.outboundAllowlist),
    timeoutMs: config.callbackTimeoutMs,
    maxResponseBytes: config.callbackMaxResponseBytes,
  });
  const wakeSoon = (kinds: string[]) => setTimeout(() => ctx.wakeWorker(kinds), AFTER_COMMIT_MS);
  const ledger = createLedger({ db, dialect: storage.dialect, clock });
  const sellers = createSellerService({ db, dialect: storage.dialect, clock });
  const admins = createAdminService({
    db,
    clock,
    idleMs: config.adminSessionIdleS * 1000,
    maxMs: config.adminSessionMaxS * 1000,
  });
  const sellerLogins = createSellerLogins({
    db,
    clock,
    // Its own key, derived: the phone lookup hash never equals a card hash, and needs no new secret.
    phoneKey: Buffer.from(hkdfSync('sha256', secrets.cardHashKey, '', 'recard seller phone v1', 32)),
    channelOf: (id) => channels.get(id),
    idleS: config.h5SessionIdleS,
    maxS: config.h5SessionMaxS,
  });
  const now = () => clock.now();
  // Orders' face is made after the event log (it writes events); these reach it when they run.
  const orderChange: PayoutDeps['orders'] = { change: (trx, id, c) => transitions.change(trx, id, c) };
  const payoutDeps: PayoutDeps = {
    ledger,
    sellers,
    orders: orderChange,
    events: { append: (trx, e) => events.append(trx, e) } as PayoutDeps['events'],
    now,
  };
  const policyOf = (id: string, from: typeof db) => channels.settlementOf(id, from);
  const lockouts = createLockoutService({
    db,
    committer,
    clock,
    settings: {
      cardTries: config.lockoutCardTries,
      cardTriesWindowMs: config.lockoutCardTriesWindowS * 1000,
      cardWrongSecrets: config.lockoutCardWrongSecrets,
      sellerWrongSecrets: config.lockoutSellerWrongSecrets,
      deviceWrongSecrets: config.lockoutDeviceWrongSecrets,
      ipWrongSecrets: config.lockoutIpWrongSecrets,
      wrongSecretsWindowMs: config.lockoutWrongSecretsWindowS * 1000,
      durationMs: config.lockoutDurationS * 1000,
    },
  });
  // The subscribers of this build: each capability adds its own (risk next).
  const builtInSubscribers: Subscriber[] = [
    callbackSubscriber({ channels, clock, types: CHANNEL_EVENT_TYPES, onQueued: wakeSoon }),
    ledgerSubscriber({
      ledger,
      orders: orderChange,
      escrowOf: async (id, from) => (await policyOf(id, from))?.escrow === true,
      now,
    }),
    settlementSubscriber({ ...payoutDeps, policyOf, onPayoutMade: () => wakeSoon([SEND_PAYOUT.kind]) }),
    lockoutSubscriber({
      lockouts,
      orders: { intakeSubjects: (from, id) => orders.intakeSubjects(from, id) },
    }),
    reviewSubscriber({ clock }),
    riskOutcomesSubscriber(),
  ];
  const streams = new EventStreamHub({
    db,
    channelTypes: CHANNEL_EVENT_TYPES,
    pollMs: config.streamPollMs,
    heartbeatMs: config.streamHeartbeatMs,
    maxBufferBytes: config.streamMaxBufferBytes,
    maxClients: config.streamMaxClients,
    maxClientsPerChannel: config.streamMaxClientsPerChannel,
    logger,
  });
  const events = createEventLog(
    EVENT_TYPES,
    [...builtInSubscribers, ...(options.subscribers ?? [])],
    storage.dialect,
    (kinds) => {
      sequencer.nudge();
      setTimeout(() => streams.nudge(), AFTER_COMMIT_MS);
      // Inside the writing transaction: wake the subscribers' slots once it has (usually) committed;
      // the next poll finds anything woken too early.
      if (kinds.length > 0) setTimeout(() => ctx.wakeWorker(kinds), AFTER_COMMIT_MS);
    },
  );
  const transitions = createOrderTransitions({ events, priceOf: (from, id) => pricing.find(from, id) });
  const pricingAdmin = createPricingAdmin({
    db,
    committer,
    clock,
    book,
    pricing,
    fxMaxAgeMs,
    cardTypes,
    channels,
    outcomeCounts: (from, sinceMs) => orders.outcomeCounts(from, sinceMs),
  });
  // Risk counters are shared through Redis when the deployment has one, else kept in the database.
  const riskRedis = config.redisUrl
    ? failFastRedis(config.redisUrl, (err) =>
        logger.warn({ err: err.message }, 'risk counter store unreachable'),
      )
    : undefined;
  const locator = ipLocator();
  const sms = smsSenderFromConfig(config);
  const riskHash = (text: string) => suite.keyedHash(secrets.cardHashKey, text);
  const stepUps = createStepUps({
    db,
    clock,
    keyring,
    keyedHash: riskHash,
    sms,
    onQueued: () => wakeSoon([SEND_STEP_UP.kind]),
  });
  const risk = createRiskService({
    db,
    clock,
    counters: createRiskCounters({ db, ...(riskRedis ? { redis: riskRedis } : {}) }),
    links: { record: recordLinks },
    locate: (ip) => {
      const p = locator.locate(ip);
      return p && { lat: p.lat, lon: p.lon, city: p.city };
    },
    // Card testing reads the lockouts' own counter of tries (one counter, not two).
    cardChecks: (trx, cards) =>
      countsOf(
        trx,
        { kind: 'card', metric: 'try', windowMs: config.lockoutCardTriesWindowS * 1000 },
        cards.map((c) => ({ key: c.cardHash, nowMs: c.nowMs })),
      ),
    keyedHash: riskHash,
    stepUp: stepUps.request,
  });
  const riskOn = config.risk === 'on';
  const orders = createOrderService({
    db,
    committer,
    clock,
    cardKeys: secrets.cardKeys,
    cardHashKey: secrets.cardHashKey,
    suite,
    pricing,
    cardTypes,
    transitions,
    checkCallbackUrl: (channel, url) => checkOrderCallbackUrl(outbound, channel.callbacks.allowed_hosts, url),
    onJobQueued: () => ctx.wakeWorker([VERIFY_ORDER.kind, VERIFY_BATCH_ORDER.kind]),
    guard: lockouts.guard,
    ...(riskOn ? { risk } : {}),
  });
  const eventQueries = createEventService({ db, catalogue: events.catalogue });
  const reviews = createReviewService({
    db,
    committer,
    clock,
    claimMs: config.reviewClaimMs,
    orders,
    pricing,
    // The evidence of risk: what fired at each stage, and the step-up code's state when one was asked.
    firedRulesOf: async (from, orderId) => {
      const fired: unknown[] = await risk.assessments(orderId, from);
      const stepUp = await stepUps.of(from, orderId);
      return stepUp ? [...fired, { step_up: stepUp }] : fired;
    },
    onJobQueued: () => ctx.wakeWorker([VERIFY_ORDER.kind, VERIFY_BATCH_ORDER.kind]),
  });
  const endpoints = createEndpointService({
    db,
    clock,
    guard: outbound,
    channelTypes: CHANNEL_EVENT_TYPES,
    channelExists: async (id) => (await channels.get(id)) !== undefined,
  });
  const deliveries = createDeliveryService({
    db,
    committer,
    clock,
    channels,
    events: eventQueries,
    endpoints,
    onQueued: () => ctx.wakeWorker([DELIVER.kind]),
  });
  const payoutProviders = new Map<string, PayoutProvider>();
  const wakePayouts = () => ctx.wakeWorker([SEND_PAYOUT.kind, SWEEP_SETTLEMENT.kind]);
  const settlement = createSettlementService({ ...payoutDeps, db, onChanged: wakePayouts });
  const configured = config.payoutProvidersFile ? loadPayoutProviders(config.payoutProvidersFile) : undefined;
  for (const p of configured?.providers ?? []) payoutProviders.set(p.name, p);
  const idempotency = createIdempotency({ db, clock, keyring });
  const bucketStore: BucketStore = config.redisUrl
    ? new RedisBuckets(config.redisUrl, (err) =>
        logger.warn({ err: err.message }, 'rate limiter store unreachable'),
      )
    : new MemoryBuckets(clock);
  const rateLimits = new RateLimits({
    store: bucketStore,
    channelDefault: { rate: config.channelRate, burst: config.channelBurst },
    ip: { rate: config.ipRate, burst: config.ipBurst },
    logger,
  });
  const batches = createBatchService({
    db,
    dialect: storage.dialect,
    committer,
    clock,
    cardKeys: secrets.cardKeys,
    cardTypes,
    orders,
    channel: async (id) => (await channels.credentials(id))?.channel,
    events,
    maxLines: config.batchMaxLines,
    maxBytes: config.batchMaxBytes,
    onJobQueued: (kinds) => ctx.wakeWorker(kinds),
  });
  const verifyHandler = verifyOrderHandler({
    db,
    committer,
    clock,
    router,
    codes,
    orders,
    pricing,
    ...(riskOn ? { risk } : {}),
    faceValuePolicy: async (channelId) =>
      (await channels.credentials(channelId))?.channel.face_value_policy ?? 'review',
    observe: {
      unknownCode: (issuer, raw_code) =>
        metrics.issuerUnknownCodes.inc({ issuer, raw_code: raw_code.slice(0, 32) }),
      outcome: (issuer, outcome) => metrics.issuerOutcomes.inc({ issuer, outcome }),
    },
  });
  const ctx: Context = {
    batches,
    idempotency,
    rateLimits,
    ledger,
    sellers,
    sellerLogins,
    settlement,
    reviews,
    risk,
    stepUps,
    payoutProviders,
    wechatNotificationKeys: configured?.wechatNotification,
    payoutNotifications: {
      ...payoutDeps,
      db,
      verifyWechat: (headers, raw) =>
        ctx.wechatNotificationKeys ? verifyNotification(headers, raw, ctx.wechatNotificationKeys) : undefined,
      onSettled: wakePayouts,
    },
    config,
    suite,
    signaturePool,
    adminToken: secrets.adminToken,
    admins,
    audit: createAuditLog({ db, clock }),
    logger,
    clock,
    storage,
    committer,
    metrics,
    channels,
    cardTypes,
    orders,
    lockouts,
    issuerAdmin: createIssuerAdminService({
      db,
      keyring,
      clock,
      onCodesChanged: () => codes.invalidate(),
      onRoutesChanged: () => {
        router.forgetRoutes();
        changes.publish('issuer_routes', '*');
      },
    }),
    pricing,
    pricingAdmin,
    fxSource: config.fxFeedUrl
      ? jsonFeedSource({ url: config.fxFeedUrl, now: () => clock.now() })
      : undefined,
    router,
    changes,
    webhooks: { endpoints, deliveries },
    outbound,
    streams,
    callbackTests: createCallbackTestService({
      db,
      guard: outbound,
      committer,
      clock,
      onJobQueued: () => ctx.wakeWorker([TEST_DELIVERY.kind]),
    }),
    channelKeys,
    oauth,
    authenticate: createAuthenticator({
      committer,
      channels,
      clock,
      windowS: config.signatureWindowS,
      verifyKey: keyCrypto.verifyKey,
      verifyToken: oauth.verify,
      hmacSm3: keyCrypto.hmacSm3,
      suiteSchemes: suite.requestSignatures,
    }),
    events,
    eventQueries,
    sequencer,
    jobHandlers: [
      testDeliveryHandler({
        db,
        channels,
        clock,
        guard: outbound,
        userAgent: `Recard-Webhooks/${VERSION}`,
      }),
      deliverHandler({
        db,
        committer,
        channels,
        guard: outbound,
        clock,
        userAgent: `Recard-Webhooks/${VERSION}`,
        eventAt: (position) => eventQueries.byPosition(position),
        endpointDisabled: async (trx, endpoint, reason) => {
          await events.append(trx, {
            spec: ENDPOINT_DISABLED,
            channelId: endpoint.channel_id,
            subjectId: endpoint.id,
            data: { endpoint: endpointView(endpoint), reason },
            nowMs: clock.now(),
          });
        },
      }),
      verifyHandler,
      // Orders of a batch file are verified by the same handler, in slots of their own.
      { ...verifyHandler, spec: VERIFY_BATCH_ORDER },
      ...events.handlers(),
      sendPayoutHandler({ ...payoutDeps, db, provider: (name) => payoutProviders.get(name) }),
      sweepSettlementHandler({ ...payoutDeps, db, policyOf }, () => ctx.wakeWorker([SEND_PAYOUT.kind])),
      {
        spec: SHRED_CARDS,
        async handle(payload: { retention_days: number }, jc) {
          const shredded = await orders.shredPaidCards(
            clock.now() - payload.retention_days * 86_400_000,
            false,
          );
          if (shredded > 0) jc.logger.info({ shredded }, 'card data keys of paid orders deleted');
        },
      },
      {
        spec: EXPIRE_PENDING,
        async handle() {
          await ledger.expireDue();
        },
      },
      // The source is looked up at every run: `serve --demo` sets it after the context is built.
      refreshFxHandler(
        pricingAdmin,
        () => ctx.fxSource,
        (outcome) => metrics.fxReads.inc({ outcome }),
      ),
      adjustRatesHandler(pricingAdmin),
      prunePricingHandler(db, clock, (from, ids) => orders.quotesInUse(from, ids)),
      sweepVerifyingHandler(db, orders, clock),
      pruneNoncesHandler(db, clock),
      pruneIdempotencyHandler(idempotency),
      pruneLockoutsHandler(db, clock),
      pruneRiskCountersHandler(db, clock),
      pruneRiskLinksHandler(db, clock),
      stepUps.handler(),
      ringsJobHandler(db, storage.dialect, clock),
      pruneSessionsHandler(admins),
      pruneJobsHandler(db, clock),
      ...batches.handlers(),
    ],
    schedules: [
      { spec: PRUNE_NONCES, everyMs: TEN_MINUTES, payload: {} },
      { spec: PRUNE_IDEMPOTENCY, everyMs: TEN_MINUTES, payload: {} },
      { spec: PRUNE_LOCKOUTS, everyMs: TEN_MINUTES, payload: { keep_ms: KEEP_ENDED_LOCKOUTS_MS } },
      { spec: PRUNE_RISK_COUNTERS, everyMs: TEN_MINUTES, payload: {} },
      { spec: PRUNE_RISK_LINKS, everyMs: 86_400_000, payload: { retain_days: config.riskLinksRetainDays } },
      {
        spec: COMPUTE_RINGS,
        everyMs: config.riskRingsIntervalMs,
        payload: ringsPayload({
          minBadMembers: config.riskRingsMinBadMembers,
          maxSharers: config.riskRingsMaxSharers,
        }),
      },
      { spec: PRUNE_SESSIONS, everyMs: TEN_MINUTES, payload: {} },
      { spec: PRUNE_UPLOADS, everyMs: TEN_MINUTES, payload: { older_than_ms: 3_600_000 } },
      { spec: SWEEP_VERIFYING, everyMs: 60_000, payload: { stuck_after_ms: config.verifyStuckAfterMs } },
      { spec: PRUNE_JOBS, everyMs: TEN_MINUTES, payload: { keep_ms: KEEP_SUCCEEDED_JOBS_MS } },
      { spec: REFRESH_FX, everyMs: config.fxPollMs, payload: {} },
      { spec: ADJUST_RATES, everyMs: 60_000, payload: {} },
      { spec: PRUNE_PRICING, everyMs: TEN_MINUTES, payload: { keep_ms: KEEP_UNUSED_PRICING_MS } },
      { spec: SWEEP_SETTLEMENT, everyMs: config.settlementSweepMs, payload: {} },
      { spec: EXPIRE_PENDING, everyMs: 5_000, payload: {} },
      { spec: SHRED_CARDS, everyMs: 60 * 60_000, payload: { retention_days: config.cardRetentionDays } },
    ],
    wakeWorker: () => undefined,
    close: async () => {
      streams.stop();
      await signaturePool.close();
      await sequencer.stop();
      await outbound.close();
      await changes.close();
      await router.close();
      await bucketStore.close();
      riskRedis?.disconnect();
      await sms?.close();
      await ctx.fxSource?.close();
      for (const p of payoutProviders.values()) await (p as { close?: () => Promise<void> }).close?.();
      await storage.close();
    },
  };
  logger.info({ database: storage.describe }, 'storage ready');
  return ctx;
}
