import type { Logger } from '../../shared/logger.js';
import type { Db } from '../../storage/database.js';
import { storedEvent } from './log.js';
import type { StoredEvent } from './model.js';
import { lastSequence, listEventRows } from './store.js';

/**
 * One live connection (SSE or WebSocket) of one channel. `push` writes without waiting; it answers
 * false once the connection holds more unsent bytes than allowed, and the hub then drops it.
 */
export interface StreamSink {
  channelId: string;
  push(event: StoredEvent): void;
  /** Bytes written but not yet taken by the peer. */
  buffered(): number;
  heartbeat(): void;
  /** Ends the connection, telling the peer to resume after `sequence`. */
  drop(why: 'slow_consumer' | 'shutdown', resumeAfter: number): void;
}

interface Client {
  sink: StreamSink;
  /** Last sequence handed to the sink. */
  cursor: number;
  live: boolean;
  closed: boolean;
}

export interface StreamHubOptions {
  db: Db;
  /** Types channels may see; nothing else is streamed. */
  channelTypes: readonly string[];
  pollMs: number;
  heartbeatMs: number;
  maxBufferBytes: number;
  maxClients: number;
  /** Per channel: one channel opening thousands of streams must not take the others' slots. */
  maxClientsPerChannel?: number;
  logger: Logger;
}

const PAGE = 500;

/**
 * Fans committed events out to live stream connections. One reader per process follows the events
 * table by sequence (polled, and nudged at once when this process wrote an event) and hands each new
 * event to the connections of its channel; a connection resuming from a sequence first reads its
 * own backlog, then joins the live set at the reader's position, so that it sees every event once.
 * Nothing is buffered per connection beyond the socket's own buffer, and that is bounded: a peer
 * that does not keep up is dropped with the sequence to resume after.
 */
export class EventStreamHub {
  private readonly live = new Map<string, Set<Client>>();
  private count = 0;
  private head = -1;
  private reading: Promise<void> | null = null;
  private again = false;
  private poller: NodeJS.Timeout | undefined;
  private beater: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Bumped when the hub goes idle: a read begun before must not set the position after. */
  private generation = 0;

  private readonly perChannel = new Map<string, number>();

  constructor(private readonly o: StreamHubOptions) {}

  get clients(): number {
    return this.count;
  }

  hasRoom(channelId: string): boolean {
    const mine = this.perChannel.get(channelId) ?? 0;
    return (
      !this.stopped && this.count < this.o.maxClients && mine < (this.o.maxClientsPerChannel ?? Infinity)
    );
  }

  /**
   * Adds a connection. With `after`, every event of the channel after that sequence is sent first;
   * without, the connection starts at what is committed now. Returns a function that removes it.
   */
  async attach(sink: StreamSink, after: number | undefined): Promise<() => void> {
    const client: Client = { sink, cursor: 0, live: false, closed: false };
    this.count++;
    this.perChannel.set(sink.channelId, (this.perChannel.get(sink.channelId) ?? 0) + 1);
    this.start();
    const detach = () => {
      if (client.closed) return;
      client.closed = true;
      this.count--;
      const left = (this.perChannel.get(sink.channelId) ?? 1) - 1;
      if (left <= 0) this.perChannel.delete(sink.channelId);
      else this.perChannel.set(sink.channelId, left);
      this.live.get(sink.channelId)?.delete(client);
      if (this.live.get(sink.channelId)?.size === 0) this.live.delete(sink.channelId);
      if (this.count === 0) this.idle();
    };
    try {
      await this.ensureHead();
      client.cursor = after ?? this.head;
      await this.catchUp(client);
    } catch (err) {
      detach();
      throw err;
    }
    return detach;
  }

  /** Something was committed in this process: read now instead of at the next poll. */
  nudge(): void {
    if (this.count > 0) void this.read();
  }

  stop(): void {
    this.stopped = true;
    for (const set of this.live.values()) {
      for (const c of set) c.sink.drop('shutdown', c.cursor);
    }
    this.idle();
  }

  private start(): void {
    if (this.poller || this.stopped) return;
    this.poller = setInterval(() => void this.read(), this.o.pollMs);
    this.beater = setInterval(() => {
      for (const set of this.live.values()) for (const c of set) c.sink.heartbeat();
    }, this.o.heartbeatMs);
    this.poller.unref();
    this.beater.unref();
  }

  private idle(): void {
    this.generation++;
    clearInterval(this.poller);
    clearInterval(this.beater);
    this.poller = undefined;
    this.beater = undefined;
    // Forget the position: the next first client reads it fresh instead of replaying a long gap.
    this.head = -1;
  }

  private async ensureHead(): Promise<void> {
    // Read again if the hub went idle meanwhile: that read's position may already be old.
    while (this.head < 0) {
      const generation = this.generation;
      const seq = await lastSequence(this.o.db);
      if (this.head < 0 && generation === this.generation) this.head = seq;
    }
  }

  /** Sends a connection its backlog up to the reader's position, then makes it live. */
  private async catchUp(client: Client): Promise<void> {
    for (let rounds = 0; !client.closed; rounds++) {
      const target = this.head;
      if (client.cursor < target) {
        const rows = await listEventRows(this.o.db, {
          channelId: client.sink.channelId,
          types: this.o.channelTypes,
          after: client.cursor,
          upTo: target,
          limit: PAGE,
        });
        for (const row of rows) {
          if (!this.send(client, storedEvent(row))) return;
        }
        if (rows.length === PAGE) continue;
        client.cursor = Math.max(client.cursor, target);
      }
      // Synchronously after the last await: the reader has dispatched nothing past `head` to us.
      if (this.head === target || client.cursor >= this.head) {
        client.live = true;
        const set = this.live.get(client.sink.channelId) ?? new Set<Client>();
        set.add(client);
        this.live.set(client.sink.channelId, set);
        return;
      }
      if (rounds > 10_000) throw new Error('stream catch-up did not converge');
    }
  }

  private send(client: Client, event: StoredEvent): boolean {
    if (client.closed) return false;
    if (event.sequence !== null && event.sequence <= client.cursor) return true;
    client.sink.push(event);
    client.cursor = event.sequence ?? client.cursor;
    if (client.sink.buffered() > this.o.maxBufferBytes) {
      client.sink.drop('slow_consumer', client.cursor);
      this.live.get(client.sink.channelId)?.delete(client);
      return false;
    }
    return true;
  }

  /** One reader at a time; a nudge during a read makes it read once more. */
  private read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        const generation = this.generation;
        do {
          this.again = false;
          await this.ensureHead();
          for (;;) {
            const rows = await listEventRows(this.o.db, {
              after: this.head,
              types: this.o.channelTypes,
              limit: PAGE,
            });
            // Gone idle meanwhile: the next first client reads its own position.
            if (generation !== this.generation) return;
            for (const row of rows) {
              const event = storedEvent(row);
              this.head = event.sequence ?? this.head;
              const set = row.channel_id === null ? undefined : this.live.get(row.channel_id);
              if (set) for (const c of [...set]) this.send(c, event);
            }
            if (rows.length < PAGE) break;
          }
        } while (this.again && this.count > 0);
      } catch (err) {
        this.o.logger.warn({ err }, 'event stream read failed; retrying at the next poll');
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }
}
