import type { OutboundGuard } from '../../adapters/outbound/index.js';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { WebhookError } from './errors.js';
import type { EndpointInput, EndpointPatch, EndpointView } from './model.js';
import {
  deleteEndpoint,
  type EndpointRow,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  updateEndpoint,
} from './store.js';
import { checkDestination } from './urls.js';
import { endpointView } from './view.js';

export interface EndpointServiceDeps {
  db: Db;
  clock: Clock;
  guard: OutboundGuard;
  /** Event types a channel sees: the only ones an endpoint may ask for (besides `*`). */
  channelTypes: readonly string[];
  /** Whether a channel exists (an admin names one when creating an endpoint for it). */
  channelExists: (id: string) => Promise<boolean>;
}

type Answer<T> = Promise<Result<T, WebhookError['code']>>;

/**
 * A channel's webhook endpoints. `channelId` scopes every call to one channel (the channel API);
 * admins pass undefined and reach every endpoint. Another channel's endpoint is "not found".
 */
export function createEndpointService({
  db,
  clock,
  guard,
  channelTypes,
  channelExists,
}: EndpointServiceDeps) {
  const notFound = (id: string) =>
    fail('resource_not_found', `No webhook endpoint ${id}.`, { field: 'params.id' });

  function checkTypes(types: readonly string[]): WebhookError | null {
    const unknown = types.find((t) => t !== '*' && !channelTypes.includes(t));
    if (unknown === undefined) return null;
    return fail(
      'unknown_event_type',
      `No event type ${unknown}; the types are ${channelTypes.join(', ')} (or *).`,
      {
        field: 'event_types',
      },
    );
  }

  async function owned(channelId: string | undefined, id: string): Promise<EndpointRow | undefined> {
    const row = await findEndpoint(db, id);
    return row && (channelId === undefined || row.channel_id === channelId) ? row : undefined;
  }

  return {
    async create(channelId: string, input: EndpointInput): Answer<EndpointView> {
      if (!(await channelExists(channelId)))
        return fail('unknown_reference', `No channel ${channelId}.`, { field: 'channel_id' });
      const bad = checkTypes(input.event_types) ?? (await checkDestination(guard, input.url, 'url'));
      if (bad) return bad;
      const now = clock.now();
      const row: EndpointRow = {
        id: newId('we', now),
        channel_id: channelId,
        url: input.url,
        event_types: JSON.stringify(input.event_types),
        enabled: input.enabled === false ? 0 : 1,
        description: input.description ?? null,
        disabled_reason: null,
        failing_since: null,
        created_at: now,
        updated_at: now,
      };
      await insertEndpoint(db, row);
      return ok(endpointView(row));
    },

    async list(channelId: string | undefined): Promise<EndpointView[]> {
      return (await listEndpoints(db, channelId)).map(endpointView);
    },

    async get(channelId: string | undefined, id: string): Answer<EndpointView> {
      const row = await owned(channelId, id);
      return row ? ok(endpointView(row)) : notFound(id);
    },

    /** Re-enabling clears what Recard recorded when it disabled the endpoint. */
    async update(channelId: string | undefined, id: string, patch: EndpointPatch): Answer<EndpointView> {
      const row = await owned(channelId, id);
      if (!row) return notFound(id);
      const bad =
        (patch.event_types ? checkTypes(patch.event_types) : null) ??
        (patch.url !== undefined ? await checkDestination(guard, patch.url, 'url') : null);
      if (bad) return bad;
      const set: Partial<EndpointRow> = { updated_at: clock.now() };
      if (patch.url !== undefined) set.url = patch.url;
      if (patch.event_types !== undefined) set.event_types = JSON.stringify(patch.event_types);
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.enabled !== undefined) {
        set.enabled = patch.enabled ? 1 : 0;
        if (patch.enabled) {
          set.disabled_reason = null;
          set.failing_since = null;
        }
      }
      await updateEndpoint(db, id, set);
      const now = await findEndpoint(db, id);
      return now ? ok(endpointView(now)) : notFound(id);
    },

    async remove(channelId: string | undefined, id: string): Answer<{ deleted: true }> {
      const row = await owned(channelId, id);
      if (!row || !(await deleteEndpoint(db, id))) return notFound(id);
      return ok({ deleted: true as const });
    },

    owned,
  };
}

export type EndpointService = ReturnType<typeof createEndpointService>;
