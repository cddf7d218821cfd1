import { type Static, Type } from '@sinclair/typebox';
import { defineJobKind } from '../../jobs/model.js';

export const CALLBACK_TEST_STATUSES = ['queued', 'delivered', 'failed'] as const;
export type CallbackTestStatus = (typeof CALLBACK_TEST_STATUSES)[number];

export const CallbackTestRequest = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        maxLength: 2048,
        description: "Where to send the test callback; defaults to the channel's callback URL.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type CallbackTestRequest = Static<typeof CallbackTestRequest>;

export const CallbackTestView = Type.Object(
  {
    id: Type.String({ examples: ['cbt_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    status: Type.Union(CALLBACK_TEST_STATUSES.map((s) => Type.Literal(s))),
    url: Type.String(),
    attempts: Type.Integer({ description: 'Deliveries tried so far.' }),
    last_status_code: Type.Union([Type.Integer(), Type.Null()], {
      description: 'HTTP status of the last try.',
    }),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { title: 'CallbackTest' },
);
export type CallbackTestView = Static<typeof CallbackTestView>;

export const CallbackTestParams = Type.Object({ id: Type.String({ pattern: '^cbt_[0-9a-z]{26}$' }) });

/** One delivery of a test callback; retried with backoff until the channel answers 2xx. */
export const TEST_DELIVERY = defineJobKind<{ callback_test_id: string }>({
  kind: 'webhooks.test_delivery',
  maxAttempts: 6,
  timeoutMs: 65_000,
  backoff: { baseMs: 2_000, capMs: 5 * 60_000 },
});

/**
 * Waits after each failed attempt: 15 retries over about 24 hours (docs/webhooks.md#retries). Fixed,
 * without jitter: a merchant can tell when the next try comes, and the delivery shows it.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  15_000,
  15_000,
  30_000,
  3 * 60_000,
  10 * 60_000,
  20 * 60_000,
  30 * 60_000,
  30 * 60_000,
  30 * 60_000,
  60 * 60_000,
  3 * 3_600_000,
  3 * 3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  6 * 3_600_000,
];

/** An endpoint that failed every delivery this long is disabled. */
export const DISABLE_AFTER_FAILING_MS = 3 * 24 * 3_600_000;

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
const DeliveryStatusSchema = Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)));

/** One attempt at a delivery; runs the HTTP call, so it is a plain job with the schedule above. */
export const DELIVER = defineJobKind<{ delivery_id: string }>({
  kind: 'webhooks.deliver',
  maxAttempts: RETRY_SCHEDULE_MS.length + 1,
  // Above the longest callback timeout allowed (RECARD_CALLBACK_TIMEOUT_MS ≤ 60 s): an answer that
  // comes in time is never dropped by the job's own timeout.
  timeoutMs: 75_000,
  backoff: { baseMs: 15_000, capMs: 6 * 3_600_000, scheduleMs: RETRY_SCHEDULE_MS },
  // Attempts mostly wait on the network: many slots are cheap, and the circuit keeps one endpoint
  // from holding them all.
  concurrency: 256,
});

const EventTypeName = Type.String({ pattern: '^(\\*|[a-z][a-z_]*\\.[a-z_]+)$', maxLength: 40 });
const EndpointUrl = Type.String({
  minLength: 1,
  maxLength: 4096,
  description: 'http(s), at most 2,048 characters, a public address (docs/webhooks.md#outbound-safety).',
});

export const EndpointInput = Type.Object(
  {
    url: EndpointUrl,
    event_types: Type.Array(EventTypeName, {
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      description: 'Event types sent to it (docs/events.md); `["*"]` for every type the channel sees.',
    }),
    description: Type.Optional(Type.String({ maxLength: 200 })),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);
export type EndpointInput = Static<typeof EndpointInput>;

export const AdminEndpointInput = Type.Composite(
  [EndpointInput, Type.Object({ channel_id: Type.String({ pattern: '^ch_[0-9a-z]{26}$' }) })],
  { additionalProperties: false },
);
export type AdminEndpointInput = Static<typeof AdminEndpointInput>;

export const EndpointPatch = Type.Partial(EndpointInput, { additionalProperties: false, minProperties: 1 });
export type EndpointPatch = Static<typeof EndpointPatch>;

export const EndpointView = Type.Object(
  {
    id: Type.String({ examples: ['we_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    channel_id: Type.String(),
    url: Type.String(),
    event_types: Type.Array(Type.String()),
    description: Type.Union([Type.String(), Type.Null()]),
    enabled: Type.Boolean(),
    disabled_reason: Type.Union([Type.String(), Type.Null()], {
      description: 'Why it was disabled when Recard did it (every delivery failed for 3 days).',
    }),
    failing_since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'First failure since its last success; null while it answers.',
    }),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { title: 'WebhookEndpoint' },
);
export type EndpointView = Static<typeof EndpointView>;
export const EndpointList = Type.Object({ data: Type.Array(EndpointView) });
export const EndpointParams = Type.Object({ id: Type.String({ pattern: '^we_[0-9a-z]{26}$' }) });
export const AdminEndpointQuery = Type.Object(
  { channel_id: Type.Optional(Type.String({ pattern: '^ch_[0-9a-z]{26}$' })) },
  { additionalProperties: false },
);

export const ATTEMPT_ERRORS = [
  'timeout',
  'connection_failed',
  'address_refused',
  'url_invalid',
  'http_status',
  'not_acknowledged',
  'endpoint_unavailable',
] as const;
export type AttemptError = (typeof ATTEMPT_ERRORS)[number];

export const AttemptView = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    at: Type.String({ format: 'date-time' }),
    status_code: Type.Union([Type.Integer(), Type.Null()]),
    latency_ms: Type.Integer(),
    error_code: Type.Union([Type.Union(ATTEMPT_ERRORS.map((e) => Type.Literal(e))), Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    response_head: Type.Union([Type.String(), Type.Null()], { description: 'First 1 KiB of the answer.' }),
  },
  { title: 'WebhookAttempt' },
);
export type AttemptView = Static<typeof AttemptView>;

export const DeliveryView = Type.Object(
  {
    id: Type.String({ examples: ['whd_01jq3v6y0k8w5m2d9c4f7h1r3t'] }),
    channel_id: Type.String(),
    endpoint_id: Type.Union([Type.String(), Type.Null()], {
      description: "Null when it goes to an order's (or the channel's) callback_url.",
    }),
    url: Type.String(),
    event_id: Type.String(),
    event_type: Type.String(),
    status: DeliveryStatusSchema,
    attempts: Type.Integer(),
    next_attempt_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    resend_of: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    succeeded_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    attempt_log: Type.Array(AttemptView),
  },
  { title: 'WebhookDelivery' },
);
export type DeliveryView = Static<typeof DeliveryView>;

export const DeliveryParams = Type.Object({ id: Type.String({ pattern: '^whd_[0-9a-z]{26}$' }) });
export const DeliveryListQuery = Type.Object(
  {
    endpoint_id: Type.Optional(Type.String({ pattern: '^we_[0-9a-z]{26}$' })),
    event_id: Type.Optional(Type.String({ pattern: '^evt_[0-9a-z]{26}$' })),
    status: Type.Optional(DeliveryStatusSchema),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^whd_[0-9a-z]{26}$', description: 'next_cursor of the previous page.' }),
    ),
  },
  { additionalProperties: false },
);
export type DeliveryListQuery = Static<typeof DeliveryListQuery>;
export const DeliveryList = Type.Object({
  data: Type.Array(DeliveryView),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Newest first; null on the last page.',
  }),
});
export type DeliveryList = Static<typeof DeliveryList>;

export const ReplayRequest = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'Events created at or after this time.' }),
    until: Type.String({ format: 'date-time', description: 'Events created before this time.' }),
  },
  { additionalProperties: false },
);
export type ReplayRequest = Static<typeof ReplayRequest>;
export const ReplayAnswer = Type.Object(
  {
    queued: Type.Integer({
      description: 'Deliveries queued, one per event of the range the endpoint takes.',
    }),
  },
  { title: 'WebhookReplay' },
);
export const ResendEventParams = Type.Object({ id: Type.String({ pattern: '^evt_[0-9a-z]{26}$' }) });
export const ResendEventRequest = Type.Object(
  { endpoint_id: Type.Optional(Type.String({ pattern: '^we_[0-9a-z]{26}$' })) },
  { additionalProperties: false },
);
