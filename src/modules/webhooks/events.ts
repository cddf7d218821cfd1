import { Type } from '@sinclair/typebox';
import { defineEventType, type EventTypeSpec } from '../events/index.js';
import { EndpointView } from './model.js';

/** Callbacks' own events: for the operator (admin listing), not sent to channels. */
export const ENDPOINT_DISABLED = defineEventType({
  type: 'webhook_endpoint.disabled',
  version: 1,
  description: 'Recard disabled an endpoint that failed every delivery for 3 days.',
  visibility: 'internal',
  data: Type.Object({ endpoint: EndpointView, reason: Type.String() }, { title: 'EndpointDisabledData' }),
  example: {
    endpoint: {
      id: 'we_01jq3v6y0k8w5m2d9c4f7h1r3t',
      channel_id: 'ch_01jq3v6y0k8w5m2d9c4f7h1r3t',
      url: 'https://merchant.example/recard/notify',
      event_types: ['*'],
      description: null,
      enabled: false,
      disabled_reason: 'every delivery failed since 2026-11-28T08:00:00.000Z',
      failing_since: '2026-11-28T08:00:00.000Z',
      created_at: '2026-11-01T08:00:00.000Z',
      updated_at: '2026-12-01T08:00:00.000Z',
    },
    reason: 'every delivery failed since 2026-11-28T08:00:00.000Z',
  },
});

export const WEBHOOK_EVENT_TYPES: readonly EventTypeSpec[] = [ENDPOINT_DISABLED];
