import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import { eventView, storedEvent } from './log.js';
import type { AdminEventListQuery, EventListQuery, EventTypeSpec, StoredEvent } from './model.js';
import { findEventById, findEventByPosition, listEventRows, listEventsCreated } from './store.js';

export interface EventServiceDeps {
  db: Db;
  catalogue: readonly EventTypeSpec[];
}

/** Reading events back: a channel its own (channel-visible types only), admins all of them. */
export function createEventService({ db, catalogue }: EventServiceDeps) {
  const channelTypes = catalogue.filter((t) => t.visibility === 'channel').map((t) => t.type);
  const allTypes = catalogue.map((t) => t.type);
  /** A type nobody can see is a typo, not an empty feed: refused with the types there are. */
  const unknownType = (type: string, known: string[]) =>
    fail('invalid_request', `No event type ${type}; the types are ${known.join(', ')}.`, {
      field: 'query.type',
    });

  /** `next_after` is where to resume, also on an empty page: poll with it to get only what is new. */
  function page(rows: Awaited<ReturnType<typeof listEventRows>>, limit: number, after: number): EventPage {
    const data = rows.slice(0, limit).map((r) => eventView(storedEvent(r)));
    return { data, has_more: rows.length > limit, next_after: data.at(-1)?.sequence ?? after };
  }

  return {
    channelTypes,

    async byPosition(position: number): Promise<StoredEvent | undefined> {
      const row = await findEventByPosition(db, position);
      return row && storedEvent(row);
    },

    /** An event a channel may see: its own, of a channel-visible type; else undefined. */
    async channelEvent(channelId: string | undefined, id: string): Promise<StoredEvent | undefined> {
      const row = await findEventById(db, id);
      if (!row || !channelTypes.includes(row.type)) return undefined;
      if (channelId !== undefined && row.channel_id !== channelId) return undefined;
      return storedEvent(row);
    },

    /** A channel's visible events written in a time range, in pages (replays). */
    async createdBetween(
      channelId: string,
      sinceMs: number,
      untilMs: number,
      afterPosition: number,
      limit: number,
    ): Promise<StoredEvent[]> {
      const rows = await listEventsCreated(
        db,
        channelId,
        channelTypes,
        sinceMs,
        untilMs,
        afterPosition,
        limit,
      );
      return rows.map(storedEvent);
    },

    async listForChannel(
      channelId: string,
      q: EventListQuery,
    ): Promise<Result<EventPage, 'invalid_request'>> {
      if (q.type !== undefined && !channelTypes.includes(q.type)) return unknownType(q.type, channelTypes);
      const limit = q.limit ?? 100;
      const rows = await listEventRows(db, {
        channelId,
        types: q.type === undefined ? channelTypes : channelTypes.filter((t) => t === q.type),
        ...(q.after === undefined ? {} : { after: q.after }),
        ...(q.subject_id === undefined ? {} : { subjectId: q.subject_id }),
        limit: limit + 1,
      });
      return ok(page(rows, limit, q.after ?? 0));
    },

    async listAll(q: AdminEventListQuery): Promise<Result<EventPage, 'invalid_request'>> {
      if (q.type !== undefined && !allTypes.includes(q.type)) return unknownType(q.type, allTypes);
      const limit = q.limit ?? 100;
      const rows = await listEventRows(db, {
        ...(q.channel_id === undefined ? {} : { channelId: q.channel_id }),
        ...(q.type === undefined ? {} : { type: q.type }),
        ...(q.after === undefined ? {} : { after: q.after }),
        ...(q.subject_id === undefined ? {} : { subjectId: q.subject_id }),
        limit: limit + 1,
      });
      return ok(page(rows, limit, q.after ?? 0));
    },
  };
}

export type EventService = ReturnType<typeof createEventService>;
export type EventPage = { data: ReturnType<typeof eventView>[]; has_more: boolean; next_after: number };
