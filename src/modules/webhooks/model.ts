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
