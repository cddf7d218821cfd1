import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import { defineJobKind, type JobKind } from '../../jobs/model.js';
import type { Database } from '../../storage/schema.js';

/**
 * One kind of event: its name, the version of its payload schema and the schema itself. A payload
 * that changes shape gets a new version (docs/events.md); readers branch on `version`.
 */
export interface EventTypeSpec<S extends TSchema = TSchema> {
  type: string;
  version: number;
  description: string;
  /** Whether channels see it (GET /v1/events, callbacks, streams) or only internal subscribers. */
  visibility: 'channel' | 'internal';
  data: S;
  example: Static<S>;
}

export function defineEventType<S extends TSchema>(spec: EventTypeSpec<S>): EventTypeSpec<S> {
  if (!/^[a-z][a-z_]*\.[a-z_]+$/.test(spec.type))
    throw new Error(`event type ${spec.type}: use noun.verb_ed`);
  return spec;
}

const EVENT_ID_PATTERN = '^evt_[0-9a-z]{26}$';

/** The envelope every event has, whatever its type (a Stripe-like event object). */
export function eventEnvelope<S extends TSchema>(data: S, type: TSchema = Type.String()) {
  return Type.Object({
    id: Type.String({ pattern: EVENT_ID_PATTERN, description: 'Unique; dedupe on it.' }),
    type,
    version: Type.Integer({ minimum: 1, description: "Version of the type's payload schema." }),
    sequence: Type.Integer({
      minimum: 1,
      description: 'Commit order across all events; resume a listing or a stream after it.',
    }),
    channel_id: Type.Union([Type.String(), Type.Null()]),
    subject_id: Type.String({ description: 'What the event is about (an order id).' }),
    created_at: Type.String({ format: 'date-time' }),
    data,
  });
}

export const EventListQuery = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Only events after this sequence (next_after of a page).',
      }),
    ),
    type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 40,
        description: 'One event type (docs/events.md); another is refused.',
      }),
    ),
    subject_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "One subject's events (an order id)." }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Events per page.' }),
    ),
  },
  { additionalProperties: false },
);
export type EventListQuery = Static<typeof EventListQuery>;

export const AdminEventListQuery = Type.Composite(
  [
    EventListQuery,
    Type.Object({
      channel_id: Type.Optional(
        Type.String({ minLength: 1, maxLength: 64, description: "One channel's events." }),
      ),
    }),
  ],
  { additionalProperties: false },
);
export type AdminEventListQuery = Static<typeof AdminEventListQuery>;

/** An event as read back: the envelope with its payload parsed. */
export interface StoredEvent {
  id: string;
  type: string;
  version: number;
  /**
   * Commit order. Always set in what readers list; a subscriber on PostgreSQL may be handed an event
   * before the sequencer numbered it (null then): it orders by `position`.
   */
  sequence: number | null;
  /** Taken at write; grows with each change of one subject. */
  position: number;
  channel_id: string | null;
  subject_id: string;
  created_at: number;
  data: unknown;
}

/**
 * A module's reaction to events. Each subscriber gets one durable job per event it takes, written in
 * the event's transaction; its `handle` runs in the transaction that completes that job, so what it
 * writes commits exactly once with it. One subject's events reach it one at a time, in sequence.
 */
export interface Subscriber {
  /** Stable: it names the job kind (`events.<name>`) that carries this subscriber's deliveries. */
  name: string;
  types: readonly string[];
  /** Deliveries one worker runs at once for this subscriber. */
  concurrency?: number;
  maxAttempts?: number;
  /** Database work only, quick; throw to have the delivery retried with backoff. */
  handle(event: StoredEvent, trx: Transaction<Database>): Promise<void>;
  /**
   * Whether an event of its types is delivered at all, asked when the event is written, in that
   * transaction: an event `handle` would ignore costs no job. Only for what the event's writing
   * settles (decision 0043); without it, every event of `types` is delivered.
   */
  takes?(event: AppendedEvent, trx: Transaction<Database>): boolean | Promise<boolean>;
}

/** An event as it is written, before it has a position: what `Subscriber.takes` is asked about. */
export interface AppendedEvent {
  type: string;
  channel_id: string | null;
  subject_id: string;
  data: unknown;
}

export type SubscriberPayload = { event_position: number };

export function subscriberJobKind(s: Subscriber): JobKind<SubscriberPayload> {
  return defineJobKind<SubscriberPayload>({
    kind: `events.${s.name}`,
    maxAttempts: s.maxAttempts ?? 25,
    timeoutMs: 30_000,
    backoff: { baseMs: 1_000, capMs: 10 * 60_000 },
    concurrency: s.concurrency ?? 4,
  });
}
