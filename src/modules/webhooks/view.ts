import { rfc3339 } from '../../shared/clock.js';
import type { AttemptError, AttemptView, DeliveryView, EndpointView } from './model.js';
import type { AttemptRow, DeliveryRow, EndpointRow } from './store.js';

const time = (ms: number | null) => (ms === null ? null : rfc3339(ms));

export function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    channel_id: row.channel_id,
    url: row.url,
    event_types: JSON.parse(row.event_types) as string[],
    description: row.description,
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    failing_since: time(row.failing_since),
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

export function attemptView(row: AttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    at: rfc3339(row.at),
    status_code: row.status_code,
    latency_ms: row.latency_ms,
    error_code: row.error_code as AttemptError | null,
    error: row.error,
    response_head: row.response_head,
  };
}

export function deliveryView(row: DeliveryRow, attempts: readonly AttemptRow[]): DeliveryView {
  return {
    id: row.id,
    channel_id: row.channel_id,
    endpoint_id: row.endpoint_id,
    url: row.url,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: time(row.next_attempt_at),
    resend_of: row.resend_of,
    created_at: rfc3339(row.created_at),
    succeeded_at: time(row.succeeded_at),
    attempt_log: attempts.map(attemptView),
  };
}
