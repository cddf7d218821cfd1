import pg from 'pg';
import type { Logger } from '../shared/logger.js';

/** What other processes keep in memory and must read again when it changes. */
export const CHANGE_TOPICS = ['channel', 'card_type', 'issuer_routes'] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

/** `id` is the changed row's; null: anything of the topic may have changed (forget it all). */
export type ChangeListener = (id: string | null) => void;

/**
 * Tells the other processes of a deployment that configuration they cache has changed, so that a
 * channel disabled, a card type changed or a route changed takes effect everywhere at once instead
 * of when each process's cache expires. The caches keep a lifetime as the fallback: `live` says
 * whether changes are arriving, and while they are not the short lifetime applies.
 */
export interface ChangeFeed {
  readonly live: boolean;
  publish(topic: ChangeTopic, id: string): void;
  on(topic: ChangeTopic, listener: ChangeListener): void;
  close(): Promise<void>;
}

/** One process, or SQLite: nothing to tell, never live (the caches keep their short lifetimes). */
export const noChangeFeed: ChangeFeed = {
  live: false,
  publish() {},
  on() {},
  async close() {},
};

const CHANNEL = 'recard_changes';
const RECONNECT_MS = 1_000;

export interface PgChangeFeedOptions {
  url: string;
  schema: string;
  logger: Logger;
  /** Run the query that publishes (the pool of the process's storage). */
  notify(channel: string, payload: string): Promise<void>;
}

/**
 * PostgreSQL `LISTEN/NOTIFY` on one connection of its own per process. A deployment's processes
 * share a schema, and the payload names it, so that two deployments on one database (tests, say)
 * never act on each other's changes. When the connection drops, the feed is not live until it is
 * back, and then every listener forgets everything: a change may have been missed meanwhile.
 */
export async function startPgChangeFeed(options: PgChangeFeedOptions): Promise<ChangeFeed> {
  const listeners = new Map<ChangeTopic, ChangeListener[]>();
  let client: pg.Client | null = null;
  let live = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let everConnected = false;

  const dispatch = (topic: ChangeTopic, id: string | null) => {
    for (const l of listeners.get(topic) ?? []) {
      try {
        l(id);
      } catch (err) {
        options.logger.error({ err, topic }, 'a change listener failed');
      }
    }
  };
  const forgetAll = () => {
    for (const topic of CHANGE_TOPICS) dispatch(topic, null);
  };

  const connect = async (): Promise<void> => {
    // Named, so that an operator sees in pg_stat_activity which connection listens for which schema.
    const c = new pg.Client({
      connectionString: options.url,
      keepAlive: true,
      application_name: `recard-changes:${options.schema}`.slice(0, 63),
    });
    c.on('notification', (m) => {
      if (m.channel !== CHANNEL || !m.payload) return;
      const [schema, topic, ...rest] = m.payload.split('|');
      if (schema !== options.schema || !CHANGE_TOPICS.includes(topic as ChangeTopic)) return;
      dispatch(topic as ChangeTopic, rest.join('|') || null);
    });
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = null;
      live = false;
      c.removeAllListeners('end');
      void c.end().catch(() => undefined);
      if (closed) return;
      options.logger.warn(
        { err },
        'configuration change feed lost; caches expire on their own until it is back',
      );
      retry = setTimeout(() => void reconnect(), RECONNECT_MS);
    };
    c.on('error', lost);
    c.on('end', () => lost());
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    client = c;
    live = true;
    // Changes made while no connection listened were missed: read everything again.
    if (everConnected) forgetAll();
    everConnected = true;
  };
  const reconnect = async () => {
    if (closed) return;
    try {
      await connect();
      options.logger.info('configuration change feed back');
    } catch (err) {
      options.logger.warn({ err }, 'configuration change feed: reconnecting');
      retry = setTimeout(() => void reconnect(), RECONNECT_MS);
    }
  };

  await connect().catch((err) => {
    // Not live: the caches keep their short lifetimes until the feed connects.
    options.logger.warn({ err }, 'configuration change feed not connected; retrying');
    retry = setTimeout(() => void reconnect(), RECONNECT_MS);
  });
  return {
    get live() {
      return live;
    },
    publish(topic, id) {
      // After the change is committed; a notice lost here leaves the caches' lifetime to catch up.
      options.notify(CHANNEL, [options.schema, topic, id].join('|')).catch((err) => {
        options.logger.warn({ err, topic }, 'configuration change not published');
      });
    },
    on(topic, listener) {
      listeners.set(topic, [...(listeners.get(topic) ?? []), listener]);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      live = false;
      if (c) {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
      }
    },
  };
}
