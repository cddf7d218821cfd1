import type { Transaction } from 'kysely';
import { enqueueJob } from '../../jobs/store.js';
import { newId } from '../../shared/ids.js';
import type { Database } from '../../storage/schema.js';
import type { StoredEvent } from '../events/index.js';
import { DELIVER } from './model.js';
import { type EndpointRow, insertDelivery } from './store.js';

export interface Destination {
  endpointId: string | null;
  url: string;
}

/** Does this endpoint take events of this type? */
export function takes(endpoint: EndpointRow, type: string): boolean {
  const types = JSON.parse(endpoint.event_types) as string[];
  return types.includes('*') || types.includes(type);
}

/**
 * Where one event goes: the order's callback_url (else the channel's), and every enabled endpoint
 * of the channel that takes its type; a URL named twice is sent to once.
 */
export function destinationsOf(
  event: StoredEvent,
  channelCallbackUrl: string | null,
  endpoints: readonly EndpointRow[],
): Destination[] {
  const out: Destination[] = [];
  const order = (event.data as { order?: { callback_url?: string | null } } | null)?.order;
  const own = order ? (order.callback_url ?? channelCallbackUrl) : null;
  if (own) out.push({ endpointId: null, url: own });
  for (const e of endpoints) {
    if (e.enabled === 1 && takes(e, event.type) && !out.some((d) => d.url === e.url))
      out.push({ endpointId: e.id, url: e.url });
  }
  return out;
}

/** Writes a delivery and its first attempt's job in the caller's transaction: both or neither. */
export async function queueDelivery(
  trx: Transaction<Database>,
  channelId: string,
  event: StoredEvent,
  to: Destination,
  nowMs: number,
  resendOf: string | null = null,
): Promise<string> {
  const id = newId('whd', nowMs);
  await insertDelivery(trx, {
    id,
    channel_id: channelId,
    endpoint_id: to.endpointId,
    url: to.url,
    event_id: event.id,
    event_position: event.position,
    event_type: event.type,
    event_created_at: event.created_at,
    status: 'pending',
    attempts: 0,
    next_attempt_at: nowMs,
    last_status_code: null,
    last_error_code: null,
    resend_of: resendOf,
    created_at: nowMs,
    updated_at: nowMs,
    succeeded_at: null,
  });
  await enqueueJob(trx, DELIVER, { delivery_id: id }, nowMs);
  return id;
}
