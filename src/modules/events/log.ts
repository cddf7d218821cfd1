import type { Static, TSchema } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import type { JobHandler } from '../../jobs/model.js';
import { enqueueJob, enqueueJobs, type NewJob } from '../../jobs/store.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Dialect } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import {
  type AppendedEvent,
  type EventTypeSpec,
  type StoredEvent,
  type Subscriber,
  type SubscriberPayload,
  subscriberJobKind,
} from './model.js';
import { type EventRow, findEventByPosition, insertEvent, insertEvents, type NewEventRow } from './store.js';

export interface NewEvent<S extends TSchema> {
  spec: EventTypeSpec<S>;
  channelId: string | null;
  subjectId: string;
  data: Static<S>;
  nowMs: number;
}

export function storedEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    version: row.version,
    sequence: row.seq,
    position: row.position,
    channel_id: row.channel_id,
    subject_id: row.subject_id,
    created_at: row.created_at,
    data: JSON.parse(row.payload) as unknown,
  };
}

/** The envelope as the API and callbacks show it (position is internal). */
export function eventView(e: StoredEvent) {
  const { position: _position, ...shown } = e;
  return { ...shown, created_at: rfc3339(e.created_at) };
}

/**
 * The event backbone's write side: `append` writes an event and one delivery job per subscriber of
 * its type, all in the caller's transaction, so an event exists exactly when the change it describes
 * was committed, and no subscriber can miss it. Built once per process from every event type and
 * subscriber of the build.
 */
export function createEventLog(
  catalogue: readonly EventTypeSpec[],
  subscribers: readonly Subscriber[],
  dialect: Dialect,
  /**
   * Called when an event was written, inside its transaction, with the job kinds it enqueued: wakes
   * this process's sequencer and the subscribers' slots.
   */
  onAppended?: (kinds: string[]) => void,
) {
  const known = new Map(catalogue.map((t) => [t.type, t]));
  if (known.size !== catalogue.length) throw new Error('an event type is declared twice');
  // Each subscriber's job kind, made once: append enqueues it, handlers() runs it.
  const entries = subscribers.map((subscriber) => ({ subscriber, kind: subscriberJobKind(subscriber) }));
  if (new Set(subscribers.map((s) => s.name)).size !== subscribers.length)
    throw new Error('a subscriber is registered twice');
  const byType = new Map<string, typeof entries>();
  for (const entry of entries) {
    for (const type of entry.subscriber.types) {
      if (!known.has(type))
        throw new Error(`subscriber ${entry.subscriber.name} takes unknown event type ${type}`);
      byType.set(type, [...(byType.get(type) ?? []), entry]);
    }
  }

  /** The row of an event of the catalogue (any other type is a programming error). */
  const rowOf = <S extends TSchema>(e: NewEvent<S>): NewEventRow => {
    if (known.get(e.spec.type) !== e.spec)
      throw new Error(`event type ${e.spec.type} is not in the catalogue`);
    return {
      id: newId('evt', e.nowMs),
      type: e.spec.type,
      version: e.spec.version,
      channel_id: e.channelId,
      subject_id: e.subjectId,
      payload: JSON.stringify(e.data),
      created_at: e.nowMs,
    };
  };

  /** The subscribers that take this event (of its type, and `takes` it if they ask). */
  async function takersOf<S extends TSchema>(trx: Transaction<Database>, e: NewEvent<S>) {
    const all = byType.get(e.spec.type) ?? [];
    if (all.every((t) => !t.subscriber.takes)) return all;
    const event: AppendedEvent = {
      type: e.spec.type,
      channel_id: e.channelId,
      subject_id: e.subjectId,
      data: e.data,
    };
    const out: typeof all = [];
    for (const t of all) if (!t.subscriber.takes || (await t.subscriber.takes(event, trx))) out.push(t);
    return out;
  }

  return {
    catalogue,

    async append<S extends TSchema>(trx: Transaction<Database>, e: NewEvent<S>): Promise<StoredEvent> {
      const row = rowOf(e);
      const { position, seq } = await insertEvent(trx, dialect, row);
      const takers = await takersOf(trx, e);
      for (const { subscriber, kind } of takers) {
        await enqueueJob(trx, kind, { event_position: position }, e.nowMs, {
          ordering: { key: `${subscriber.name}:${e.subjectId}`, seq: position },
        });
      }
      onAppended?.(takers.map((t) => t.kind.kind));
      // The payload as given: parsing back what was just serialised would only cost time.
      return {
        id: row.id,
        type: row.type,
        version: row.version,
        sequence: seq,
        position,
        channel_id: row.channel_id,
        subject_id: row.subject_id,
        created_at: row.created_at,
        data: e.data,
      };
    },

    /**
     * As `append` for many events in one transaction (a batch file's orders), in few statements:
     * the events in order, then every subscriber's delivery jobs.
     */
    async appendMany(
      trx: Transaction<Database>,
      events: readonly NewEvent<TSchema>[],
    ): Promise<StoredEvent[]> {
      const rows = events.map(rowOf);
      const positions = await insertEvents(trx, dialect, rows);
      const jobs: NewJob<SubscriberPayload>[] = [];
      const kinds = new Set<string>();
      for (const [i, e] of events.entries()) {
        const position = positions[i] as number;
        for (const { subscriber, kind } of await takersOf(trx, e)) {
          jobs.push({
            spec: kind,
            payload: { event_position: position },
            nowMs: e.nowMs,
            ordering: { key: `${subscriber.name}:${e.subjectId}`, seq: position },
          });
          kinds.add(kind.kind);
        }
      }
      await enqueueJobs(trx, jobs as NewJob<unknown>[]);
      if (kinds.size > 0) onAppended?.([...kinds]);
      return rows.map((row, i) => ({
        id: row.id,
        type: row.type,
        version: row.version,
        sequence: dialect === 'sqlite' ? (positions[i] as number) : null,
        position: positions[i] as number,
        channel_id: row.channel_id,
        subject_id: row.subject_id,
        created_at: row.created_at,
        data: events[i]?.data,
      }));
    },

    /** The job handlers that hand events to subscribers, one kind per subscriber. */
    handlers(): JobHandler<SubscriberPayload>[] {
      return entries.map(({ subscriber: s, kind }) => ({
        spec: kind,
        async handleInTransaction({ event_position }, trx) {
          const row = await findEventByPosition(trx, event_position);
          // Events are never deleted while a delivery is open: a missing one is a broken database.
          if (!row) throw new Error(`event ${event_position} for subscriber ${s.name} does not exist`);
          await s.handle(storedEvent(row), trx);
        },
      }));
    },
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
