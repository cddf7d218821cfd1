import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * Every setting of Recard, once: its environment variable, type, default and meaning. The loader,
 * the README table (checked by a test) and `recard --help` all come from this list.
 */
const setting = <T extends TSchema>(env: string, schema: T, description: string) => ({
  env,
  schema,
  description,
});

export const SETTINGS = {
  host: setting(
    'RECARD_HOST',
    Type.String({ minLength: 1, default: '127.0.0.1' }),
    'Address the API listens on.',
  ),
  port: setting(
    'RECARD_PORT',
    Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
    'API port (0 picks a free one).',
  ),
  databaseUrl: setting(
    'DATABASE_URL',
    Type.String({ minLength: 1 }),
    '`sqlite:<file>` or `postgres://user@host:port/db`. Unset: `sqlite:<RECARD_DATA_DIR>/recard.db`.',
  ),
  databaseSchema: setting(
    'RECARD_DATABASE_SCHEMA',
    Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', default: 'public' }),
    'PostgreSQL schema to use (created if missing).',
  ),
  pgPoolSize: setting(
    'RECARD_PG_POOL_SIZE',
    Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
    'PostgreSQL connections per process.',
  ),
  dataDir: setting(
    'RECARD_DATA_DIR',
    Type.String({ minLength: 1, default: './data' }),
    'Folder for the SQLite file and generated keys.',
  ),
  channelKey: setting(
    'RECARD_CHANNEL_KEY',
    Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' })),
    'Base64 32-byte key that encrypts channel secrets. Unset: generated once into the data folder.',
  ),
  channelKeysRetired: setting(
    'RECARD_CHANNEL_KEYS_RETIRED',
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' }), { default: [] }),
    'Comma-separated older channel keys, still accepted for decryption during a rotation.',
  ),
  cardMasterKey: setting(
    'RECARD_CARD_MASTER_KEY',
    Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' })),
    'Base64 32-byte master key wrapping the per-card data keys. Unset: generated once into the data folder.',
  ),
  cardMasterKeysRetired: setting(
    'RECARD_CARD_MASTER_KEYS_RETIRED',
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' }), { default: [] }),
    'Comma-separated older card master keys, still accepted until `recard keys rotate` re-wrapped everything.',
  ),
  cardHashKey: setting(
    'RECARD_CARD_HASH_KEY',
    Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/_-]{43}=?$' })),
    'Base64 32-byte key of the keyed hash that finds duplicate cards. Never rotate it: duplicates would be missed.',
  ),
  cryptoSuite: setting(
    'RECARD_CRYPTO_SUITE',
    Type.Union([Type.Literal('standard'), Type.Literal('gm')], { default: 'standard' }),
    '`standard` (AES-256-GCM, HMAC-SHA256) or `gm` (SM4 + HMAC-SM3, SM2 request signatures) for new secrets, keyed hashes and accepted channel signatures; data written under either stays readable (docs/crypto-suites.md).',
  ),
  adminToken: setting(
    'RECARD_ADMIN_TOKEN',
    Type.Optional(Type.String({ minLength: 32, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
    'Bearer token for /admin/v1 (at least 32 characters). Unset: generated once into the data folder.',
  ),
  adminSessionIdleS: setting(
    'RECARD_ADMIN_SESSION_IDLE_S',
    Type.Integer({ minimum: 60, maximum: 86400, default: 1800 }),
    'An admin session unused for this long ends (docs/security.md#admin-users-and-roles).',
  ),
  adminSessionMaxS: setting(
    'RECARD_ADMIN_SESSION_MAX_S',
    Type.Integer({ minimum: 300, maximum: 604800, default: 43200 }),
    'An admin session ends this long after login, however much it is used.',
  ),
  reviewClaimMs: setting(
    'RECARD_REVIEW_CLAIM_MS',
    Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 900_000 }),
    'How long a reviewer holds a claimed review case before another may take it, in ms (docs/reviews.md#claims).',
  ),
  logLevel: setting(
    'RECARD_LOG_LEVEL',
    Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    'fatal, error, warn, info, debug, trace or silent.',
  ),
  bodyLimitBytes: setting(
    'RECARD_BODY_LIMIT_BYTES',
    Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
    'Largest request body accepted; larger ones get 413.',
  ),
  requestTimeoutMs: setting(
    'RECARD_REQUEST_TIMEOUT_MS',
    Type.Integer({ minimum: 1000, maximum: 600000, default: 30000 }),
    'A request (headers and body) must arrive within this, or the connection gets 408 and is closed: a body sent a byte at a time cannot hold a connection.',
  ),
  signatureWindowS: setting(
    'RECARD_SIGNATURE_WINDOW_S',
    Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
    "How far a signed request's timestamp may be from our clock, in seconds.",
  ),
  workerConcurrency: setting(
    'RECARD_WORKER_CONCURRENCY',
    Type.Integer({ minimum: 1, maximum: 256, default: 8 }),
    'Jobs one worker runs at once.',
  ),
  workerPort: setting(
    'RECARD_WORKER_PORT',
    Type.Integer({ minimum: 0, maximum: 65535, default: 9464 }),
    'Port of a `recard worker` process: /healthz, /readyz and /metrics only (0 picks a free one). Give each worker on one host its own; `recard worker --port` sets it too.',
  ),
  workerPollMs: setting(
    'RECARD_WORKER_POLL_MS',
    Type.Integer({ minimum: 10, maximum: 60000, default: 250 }),
    'How often an idle worker looks for due jobs.',
  ),
  eventSequencerPollMs: setting(
    'RECARD_EVENT_SEQUENCER_POLL_MS',
    Type.Integer({ minimum: 5, maximum: 10000, default: 50 }),
    'PostgreSQL: how often a worker numbers newly committed events in commit order (GET /v1/events lists them once numbered).',
  ),
  jobLeaseMs: setting(
    'RECARD_JOB_LEASE_MS',
    Type.Integer({ minimum: 500, maximum: 3600000, default: 30000 }),
    'How long a claimed job stays claimed without a heartbeat before another worker may take it.',
  ),
  shutdownGraceMs: setting(
    'RECARD_SHUTDOWN_GRACE_MS',
    Type.Integer({ minimum: 0, maximum: 600000, default: 10000 }),
    'On SIGTERM, how long running jobs may finish before they are released to other workers.',
  ),
  callbackTimeoutMs: setting(
    'RECARD_CALLBACK_TIMEOUT_MS',
    Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
    'Timeout of one callback delivery to a channel.',
  ),
  callbackMaxResponseBytes: setting(
    'RECARD_CALLBACK_MAX_RESPONSE_BYTES',
    Type.Integer({ minimum: 1024, maximum: 1048576, default: 65536 }),
    'Bytes of a callback answer read at most; the first 1 KiB is kept in the delivery log.',
  ),
  outboundAllowlist: setting(
    'RECARD_OUTBOUND_ALLOWLIST',
    Type.Optional(Type.String({ maxLength: 4096 })),
    'Comma-separated hosts or CIDRs that callbacks may reach although internal (development and tests, e.g. `127.0.0.1`). Unset: only public addresses; loopback is never allowed by default, not even with --demo.',
  ),
  secretOverlapS: setting(
    'RECARD_SECRET_OVERLAP_S',
    Type.Integer({ minimum: 0, maximum: 604800, default: 86400 }),
    'After a secret rotation, how long the replaced API secret still verifies and the replaced webhook secret still signs.',
  ),
  oauthIssuer: setting(
    'RECARD_OAUTH_ISSUER',
    Type.String({ minLength: 1, maxLength: 256, default: 'recard' }),
    '`iss` of the access tokens POST /oauth/token issues (docs/signing.md#oauth); the same in every process.',
  ),
  oauthAudience: setting(
    'RECARD_OAUTH_AUDIENCE',
    Type.String({ minLength: 1, maxLength: 256, default: 'recard-api' }),
    '`aud` an access token must carry to be accepted by the channel API.',
  ),
  oauthTokenTtlS: setting(
    'RECARD_OAUTH_TOKEN_TTL_S',
    Type.Integer({ minimum: 60, maximum: 86400, default: 600 }),
    'Lifetime of an access token.',
  ),
  oauthKeyRotationS: setting(
    'RECARD_OAUTH_KEY_ROTATION_S',
    Type.Integer({ minimum: 60, maximum: 31536000, default: 86400 }),
    'A token-signing key signs for this long; then a new one takes over and the old one stays published until its tokens expire.',
  ),
  h5SessionIdleS: setting(
    'RECARD_H5_SESSION_IDLE_S',
    Type.Integer({ minimum: 60, maximum: 86400, default: 1800 }),
    'A seller-page session (docs/h5-sellers.md) unused for this long ends.',
  ),
  h5SessionMaxS: setting(
    'RECARD_H5_SESSION_MAX_S',
    Type.Integer({ minimum: 300, maximum: 2592000, default: 43200 }),
    'A seller-page session ends this long after sign-in, however active (also the cookie Max-Age).',
  ),
  tlsCert: setting(
    'RECARD_TLS_CERT',
    Type.Optional(Type.String({ minLength: 1 })),
    'PEM certificate file: serve HTTPS (TLS 1.2 or later). Also `serve --tls-cert`.',
  ),
  tlsKey: setting(
    'RECARD_TLS_KEY',
    Type.Optional(Type.String({ minLength: 1 })),
    'PEM private key file of RECARD_TLS_CERT. Also `serve --tls-key`.',
  ),
  tlsClientCa: setting(
    'RECARD_TLS_CLIENT_CA',
    Type.Optional(Type.String({ minLength: 1 })),
    'PEM CA file: ask clients for certificates signed by it (mutual TLS); a channel may be bound to its certificate. Also `serve --client-ca`.',
  ),
  settlementSweepMs: setting(
    'RECARD_SETTLEMENT_SWEEP_MS',
    Type.Integer({ minimum: 100, maximum: 3600000, default: 30000 }),
    'How often finished business days are closed into settlement batches and due payouts are made (T+0 payouts go out at once regardless).',
  ),
  payoutProvidersFile: setting(
    'RECARD_PAYOUT_PROVIDERS_FILE',
    Type.Optional(Type.String({ minLength: 1 })),
    'A JSON file of payout provider settings (docs/payouts.md#configuration): endpoints, ids and keys of Alipay, WeChat Pay, the bank file drop and the USDT service. Unset: no provider (payouts wait), except `serve --demo`, which uses the simulators.',
  ),
  cardRetentionDays: setting(
    'RECARD_CARD_RETENTION_DAYS',
    Type.Integer({ minimum: 0, maximum: 3650, default: 30 }),
    "Days after an order is paid until its card's data key is deleted (crypto-shredding): the secret becomes unreadable, the duplicate hash stays.",
  ),
  streamHeartbeatMs: setting(
    'RECARD_STREAM_HEARTBEAT_MS',
    Type.Integer({ minimum: 100, maximum: 300000, default: 15000 }),
    'Heartbeat interval of the live event streams (SSE comments, WebSocket pings).',
  ),
  streamPollMs: setting(
    'RECARD_STREAM_POLL_MS',
    Type.Integer({ minimum: 10, maximum: 10000, default: 100 }),
    'How often a process with stream clients looks for events committed by other processes (its own are pushed at once).',
  ),
  streamMaxBufferBytes: setting(
    'RECARD_STREAM_MAX_BUFFER_BYTES',
    Type.Integer({ minimum: 4096, maximum: 67108864, default: 1048576 }),
    'A stream client with more than this unsent is dropped, told where to resume.',
  ),
  streamMaxClients: setting(
    'RECARD_STREAM_MAX_CLIENTS',
    Type.Integer({ minimum: 1, maximum: 100000, default: 10000 }),
    'Stream connections one process holds at most; past it new ones get 503.',
  ),
  streamMaxClientsPerChannel: setting(
    'RECARD_STREAM_MAX_CLIENTS_PER_CHANNEL',
    Type.Integer({ minimum: 1, maximum: 100000, default: 1000 }),
    'Stream connections one channel may hold in one process; past it its new ones get 503, so one channel cannot take every slot.',
  ),
  verifyStuckAfterMs: setting(
    'RECARD_VERIFY_STUCK_AFTER_MS',
    Type.Integer({ minimum: 1000, maximum: 86400000, default: 300000 }),
    'An order in submitted/verifying untouched this long without a live verify job gets a new one (sweeper).',
  ),
  lockoutCardTries: setting(
    'RECARD_LOCKOUT_CARD_TRIES',
    Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
    'Submissions of one card number (any channel) within RECARD_LOCKOUT_CARD_TRIES_WINDOW_S that lock it; the one that reaches it still passes (docs/security.md).',
  ),
  lockoutCardTriesWindowS: setting(
    'RECARD_LOCKOUT_CARD_TRIES_WINDOW_S',
    Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
    'The window of RECARD_LOCKOUT_CARD_TRIES, in seconds.',
  ),
  lockoutCardWrongSecrets: setting(
    'RECARD_LOCKOUT_CARD_WRONG_SECRETS',
    Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
    'Issuer answers "wrong secret" or "no such card" for one card number within RECARD_LOCKOUT_WRONG_SECRETS_WINDOW_S that lock it.',
  ),
  lockoutSellerWrongSecrets: setting(
    'RECARD_LOCKOUT_SELLER_WRONG_SECRETS',
    Type.Integer({ minimum: 1, maximum: 100000, default: 10 }),
    "Wrong secrets of one channel's seller within the window that refuse its cards (429 too_many_wrong_secrets).",
  ),
  lockoutDeviceWrongSecrets: setting(
    'RECARD_LOCKOUT_DEVICE_WRONG_SECRETS',
    Type.Integer({ minimum: 1, maximum: 100000, default: 10 }),
    "Wrong secrets of one channel's device_id within the window that refuse its cards.",
  ),
  lockoutIpWrongSecrets: setting(
    'RECARD_LOCKOUT_IP_WRONG_SECRETS',
    Type.Integer({ minimum: 1, maximum: 100000, default: 10 }),
    'Wrong secrets of one end-user client_ip (as the order gives it, any channel) within the window that refuse its cards.',
  ),
  lockoutWrongSecretsWindowS: setting(
    'RECARD_LOCKOUT_WRONG_SECRETS_WINDOW_S',
    Type.Integer({ minimum: 60, maximum: 2592000, default: 86400 }),
    'The window wrong secrets are counted in, per card, seller, device and IP, in seconds.',
  ),
  lockoutDurationS: setting(
    'RECARD_LOCKOUT_DURATION_S',
    Type.Integer({ minimum: 60, maximum: 2592000, default: 86400 }),
    'How long a lockout (card_locked, too_many_wrong_secrets) lasts unless an admin releases it, in seconds.',
  ),
  riskRingsIntervalMs: setting(
    'RECARD_RISK_RINGS_INTERVAL_MS',
    Type.Integer({ minimum: 1000, maximum: 86400000, default: 600000 }),
    'How often fraud rings (sellers linked by shared devices, IPs or payout destinations) are recomputed (docs/risk-rings.md).',
  ),
  riskRingsMinBadMembers: setting(
    'RECARD_RISK_RINGS_MIN_BAD_MEMBERS',
    Type.Integer({ minimum: 1, maximum: 1000, default: 2 }),
    'A fraud ring is flagged for review when at least this many of its sellers had an order rejected or frozen.',
  ),
  riskRingsMaxSharers: setting(
    'RECARD_RISK_RINGS_MAX_SHARERS',
    Type.Integer({ minimum: 2, maximum: 100000, default: 50 }),
    'A device, IP or destination shared by more sellers than this links nobody (a carrier NAT address would join strangers into one ring).',
  ),
  riskLinksRetainDays: setting(
    'RECARD_RISK_LINKS_RETAIN_DAYS',
    Type.Integer({ minimum: 1, maximum: 3650, default: 180 }),
    "A seller's link to a device, IP or destination not seen for this many days is forgotten (pruned once a day): rings are made of what sellers share now.",
  ),
  batchMaxLines: setting(
    'RECARD_BATCH_MAX_LINES',
    Type.Integer({ minimum: 1, maximum: 1000000, default: 100000 }),
    'Most card lines one batch file may hold (docs/batches.md); a longer file is refused with 413 before any order is written.',
  ),
  batchMaxBytes: setting(
    'RECARD_BATCH_MAX_BYTES',
    Type.Integer({ minimum: 1024, maximum: 1073741824, default: 33554432 }),
    'Largest batch file accepted, in bytes (default 32 MiB); a larger upload is refused with 413.',
  ),
  fileDropPort: setting(
    'RECARD_FILE_DROP_PORT',
    Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
    'Port of the SFTP file drop (docs/batches.md#file-drop); unset: no file drop. `recard serve --file-drop-port` sets it too.',
  ),
  quoteTtlS: setting(
    'RECARD_QUOTE_TTL_S',
    Type.Integer({ minimum: 10, maximum: 86400, default: 600 }),
    'How long a quote (GET /v1/quotes) holds its price and exchange rate, in seconds.',
  ),
  pricingRefreshMs: setting(
    'RECARD_PRICING_REFRESH_MS',
    Type.Integer({ minimum: 0, maximum: 60000, default: 1000 }),
    'How often a process reloads rate tables and exchange rates; a rate change takes effect no sooner than this after it is made, so every process prices with it from the same moment.',
  ),
  fxFeedUrl: setting(
    'RECARD_FX_FEED_URL',
    Type.Optional(Type.String({ pattern: '^https?://\\S+$' })),
    'JSON exchange-rate feed (docs/pricing.md#fx). Unset: only the manual table at /admin/v1/fx-rates (with `serve --demo`: the in-process feed simulator).',
  ),
  fxPollMs: setting(
    'RECARD_FX_POLL_MS',
    Type.Integer({ minimum: 1000, maximum: 3600000, default: 30000 }),
    'How often the exchange-rate feed is read.',
  ),
  fxMaxAgeS: setting(
    'RECARD_FX_MAX_AGE_S',
    Type.Integer({ minimum: 5, maximum: 86400, default: 300 }),
    'A feed rate older than this is stale: cross-currency quotes and intake are refused (503 fx_unavailable) rather than priced on it.',
  ),
  smsUrl: setting(
    'RECARD_SMS_URL',
    Type.Optional(Type.String({ pattern: '^https?://\\S+$' })),
    'Base URL of the SMS gateway that sends step-up codes (docs/sms.md). Unset, or RECARD_SMS_KEY unset: no step-up SMS (risky orders go to manual review).',
  ),
  smsKeyId: setting(
    'RECARD_SMS_KEY_ID',
    Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$', default: 'recard' }),
    'Key id sent to the SMS gateway with each signed request.',
  ),
  smsKey: setting(
    'RECARD_SMS_KEY',
    Type.Optional(Type.String({ minLength: 16, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })),
    'HMAC-SHA256 secret of RECARD_SMS_KEY_ID that signs requests to the SMS gateway. Never logged.',
  ),
  trustProxy: setting(
    'RECARD_TRUST_PROXY',
    Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    "Behind a reverse proxy: whose `X-Forwarded-For` to believe for the client address (IP allowlists, per-address rate limits). `true` (any; only if nothing reaches the API but the proxy), a number of hops, or comma-separated proxy addresses/CIDRs; passed to Fastify's trustProxy. Unset: off, the socket's address is the client's.",
  ),
  redisUrl: setting(
    'REDIS_URL',
    Type.Optional(Type.String({ pattern: '^rediss?://\\S+$' })),
    'Redis for the rate limiters and the risk counters, so that every process shares the same buckets and counts (docs/limits.md, docs/risk.md). Unset: limiters count in memory, risk counters in the database.',
  ),
  risk: setting(
    'RECARD_RISK',
    Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
    'The risk engine at intake and after the issuer answers (docs/risk.md). `off` runs no rule at all (benchmarks compare the two); to stop one rule, turn it off or to shadow mode through the admin API instead.',
  ),
  channelRate: setting(
    'RECARD_CHANNEL_RATE',
    Type.Number({ exclusiveMinimum: 0, maximum: 1000000, default: 100 }),
    "Signed requests per second a channel may make on average, unless the channel's own `limits.rate_per_second` says otherwise.",
  ),
  channelBurst: setting(
    'RECARD_CHANNEL_BURST',
    Type.Integer({ minimum: 1, maximum: 10000000, default: 200 }),
    "Signed requests a channel may make at once (its bucket's size), unless the channel's `limits.rate_burst` says otherwise.",
  ),
  ipRate: setting(
    'RECARD_IP_RATE',
    Type.Number({ exclusiveMinimum: 0, maximum: 1000000, default: 10 }),
    'Requests per second one client address may make without proven credentials (no credentials, unknown routes, public endpoints, failed authentication).',
  ),
  ipBurst: setting(
    'RECARD_IP_BURST',
    Type.Integer({ minimum: 1, maximum: 10000000, default: 20 }),
    "Such requests one client address may make at once (its bucket's size).",
  ),
  demoSimulatorLatencyMs: setting(
    'RECARD_DEMO_SIMULATOR_LATENCY_MS',
    Type.Integer({ minimum: 0, maximum: 10000, default: 20 }),
    'With `serve --demo`: latency of the in-process issuer simulators.',
  ),
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: Static<Settings[K]['schema']> };
export type SettingName = keyof Settings;

export const ConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.schema])) as {
    [K in keyof Settings]: Settings[K]['schema'];
  },
  { additionalProperties: false },
);
