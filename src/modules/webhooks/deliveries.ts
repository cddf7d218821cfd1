import type { Clock } from '../../shared/clock.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { Committer } from '../../storage/group-commit.js';
import type { ChannelService } from '../channels/index.js';
import type { EventService } from '../events/index.js';
import type { EndpointService } from './endpoints.js';
import type { WebhookError } from './errors.js';
import type { DeliveryList, DeliveryListQuery, DeliveryView, ReplayRequest } from './model.js';
import { type Destination, destinationsOf, queueDelivery, takes } from './queue.js';
import { attemptsOf, enabledEndpoints, findDelivery, listDeliveries } from './store.js';
import { deliveryView } from './view.js';

export interface DeliveryServiceDeps {
  db: Db;
  committer: Committer;
  clock: Clock;
  channels: ChannelService;
  events: EventService;
  endpoints: EndpointService;
  onQueued?: () => void;
}

/** Events one replay may queue; a wider range is refused, to be split by the caller. */
export const REPLAY_MAX_EVENTS = 10_000;
const PAGE = 500;

type Answer<T> = Promise<Result<T, WebhookError['code']>>;

/**
 * The delivery log and what can be done with it: list with attempts, resend one delivery, resend
 * one event, replay a time range to an endpoint. `channelId` scopes to one channel; admins pass
 * undefined. Anything of another channel is "not found".
 */
export function createDeliveryService(deps: DeliveryServiceDeps) {
  const { db, committer, clock } = deps;

  async function withAttempts(rows: Awaited<ReturnType<typeof listDeliveries>>): Promise<DeliveryView[]> {
    const attempts = await attemptsOf(
      db,
      rows.map((r) => r.id),
    );
    return rows.map((r) =>
      deliveryView(
        r,
        attempts.filter((a) => a.delivery_id === r.id),
      ),
    );
  }

  async function get(channelId: string | undefined, id: string): Answer<DeliveryView> {
    const row = await findDelivery(db, id);
    if (!row || (channelId !== undefined && row.channel_id !== channelId))
      return fail('resource_not_found', `No webhook delivery ${id}.`, { field: 'params.id' });
    const [view] = await withAttempts([row]);
    return ok(view as DeliveryView);
  }

  return {
    get,

    async list(channelId: string | undefined, q: DeliveryListQuery): Promise<DeliveryList> {
      const rows = await listDeliveries(db, {
        ...(channelId === undefined ? {} : { channelId }),
        ...(q.endpoint_id === undefined ? {} : { endpointId: q.endpoint_id }),
        ...(q.event_id === undefined ? {} : { eventId: q.event_id }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.cursor === undefined ? {} : { before: q.cursor }),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return {
        data: await withAttempts(page),
        next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    /** A new delivery of the same event to the same place, with its own attempts; the old one stays as it was. */
    async resend(channelId: string | undefined, id: string): Answer<DeliveryView> {
      const row = await findDelivery(db, id);
      if (!row || (channelId !== undefined && row.channel_id !== channelId))
        return fail('resource_not_found', `No webhook delivery ${id}.`, { field: 'params.id' });
      const event = await deps.events.byPosition(row.event_position);
      if (!event)
        return fail('resource_not_found', `The event of delivery ${id} is gone.`, { field: 'params.id' });
      // To where the endpoint points now, if it still exists (its URL may have changed since).
      const endpoint =
        row.endpoint_id === null ? undefined : await deps.endpoints.owned(row.channel_id, row.endpoint_id);
      const now = clock.now();
      const newId = await committer.run((trx) =>
        queueDelivery(
          trx,
          row.channel_id,
          event,
          { endpointId: row.endpoint_id, url: endpoint?.url ?? row.url },
          now,
          row.id,
        ),
      );
      deps.onQueued?.();
      return get(channelId, newId);
    },

    /** One event again: to one endpoint, or to every destination it would go to now. */
    async resendEvent(
      channelId: string | undefined,
      eventId: string,
      endpointId?: string,
    ): Answer<DeliveryView[]> {
      const event = await deps.events.channelEvent(channelId, eventId);
      if (!event || event.channel_id === null)
        return fail('resource_not_found', `No event ${eventId}.`, { field: 'params.id' });
      const owner = event.channel_id;
      let to: Destination[];
      if (endpointId !== undefined) {
        const ep = await deps.endpoints.owned(owner, endpointId);
        if (!ep)
          return fail('resource_not_found', `No webhook endpoint ${endpointId}.`, { field: 'endpoint_id' });
        to = [{ endpointId: ep.id, url: ep.url }];
      } else {
        const target = await deps.channels.callbackTarget(owner);
        to = destinationsOf(event, target?.callbackUrl ?? null, await enabledEndpoints(db, owner));
      }
      const now = clock.now();
      const ids = await committer.run(async (trx) => {
        const out: string[] = [];
        for (const d of to) out.push(await queueDelivery(trx, owner, event, d, now));
        return out;
      });
      deps.onQueued?.();
      const views: DeliveryView[] = [];
      for (const id of ids) {
        const v = await get(channelId, id);
        if (v.ok) views.push(v.value);
      }
      return ok(views);
    },

    /** Every event of [since, until) that the endpoint takes, queued to it again, in write order. */
    async replay(
      channelId: string | undefined,
      endpointId: string,
      range: ReplayRequest,
    ): Answer<{ queued: number }> {
      const ep = await deps.endpoints.owned(channelId, endpointId);
      if (!ep)
        return fail('resource_not_found', `No webhook endpoint ${endpointId}.`, { field: 'params.id' });
      const sinceMs = Date.parse(range.since);
      const untilMs = Date.parse(range.until);
      if (!(untilMs > sinceMs))
        return fail('invalid_request', '`until` must be later than `since`.', { field: 'until' });
      const events = [];
      for (let after = 0; ; ) {
        const page = await deps.events.createdBetween(ep.channel_id, sinceMs, untilMs, after, PAGE);
        events.push(...page.filter((e) => takes(ep, e.type)));
        if (events.length > REPLAY_MAX_EVENTS)
          return fail(
            'invalid_request',
            `The range holds more than ${REPLAY_MAX_EVENTS} events; replay it in parts.`,
            {
              field: 'until',
            },
          );
        if (page.length < PAGE) break;
        after = page.at(-1)?.position ?? after;
      }
      const now = clock.now();
      for (let i = 0; i < events.length; i += PAGE) {
        const chunk = events.slice(i, i + PAGE);
        await committer.run(async (trx) => {
          for (const e of chunk)
            await queueDelivery(trx, ep.channel_id, e, { endpointId: ep.id, url: ep.url }, now);
        });
      }
      deps.onQueued?.();
      return ok({ queued: events.length });
    },
  };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
