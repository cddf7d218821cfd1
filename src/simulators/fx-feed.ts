import { setTimeout as sleep } from 'node:timers/promises';
import { type Static, Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { DECIMAL_RATE_PATTERN } from '../shared/money.js';
import { listen } from './server.js';

/**
 * A simulated exchange-rate feed (docs/simulators.md): serves the JSON document the feed adapter
 * reads (src/adapters/fx/json-feed.ts) at GET /v1/rates, with switchable trouble at /__sim/feed —
 * an outage (HTTP 503, a hang, garbage) or a feed that goes on answering with old rates.
 */
export const FeedTrouble = ['none', 'error', 'timeout', 'malformed'] as const;

export const FeedSettings = Type.Object(
  {
    base: Type.String({ pattern: '^[A-Z]{3,5}$' }),
    /** 1 base = rate quote, as decimal text. */
    rates: Type.Record(
      Type.String({ pattern: '^[A-Z]{3,5}$' }),
      Type.String({ pattern: DECIMAL_RATE_PATTERN }),
    ),
    trouble: Type.Union(FeedTrouble.map((t) => Type.Literal(t))),
    /** The published as_of lags the clock by this much: a feed that answers but no longer updates. */
    staleByS: Type.Integer({ minimum: 0, maximum: 30 * 86400 }),
    latencyMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    /** Rates are republished (a new as_of) once per period, as real feeds do. */
    publishEveryS: Type.Integer({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type FeedSettings = Static<typeof FeedSettings>;
const FeedPatch = Type.Partial(FeedSettings, { additionalProperties: false });
type FeedPatch = Static<typeof FeedPatch>;

/** Rates of the demo and the tests: USDT in CNY, USD, HKD and EUR. */
export const DEFAULT_FEED: FeedSettings = {
  base: 'USDT',
  rates: { CNY: '7.2512', USD: '1.0002', HKD: '7.7931', EUR: '0.9215' },
  trouble: 'none',
  staleByS: 0,
  latencyMs: 0,
  publishEveryS: 10,
};

export interface FxFeedSimulator {
  url: string;
  /** Where the feed adapter reads. */
  feedUrl: string;
  settings: FeedSettings;
  set(patch: FeedPatch): void;
  readonly requests: number;
  close(): Promise<void>;
}

export async function startFxFeedSimulator(
  options: { port?: number; host?: string; settings?: Partial<FeedSettings> } = {},
): Promise<FxFeedSimulator> {
  let settings: FeedSettings = { ...DEFAULT_FEED, ...options.settings };
  let requests = 0;
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  app.get('/v1/rates', async (_req, reply) => {
    requests++;
    const s = settings;
    if (s.latencyMs > 0) await sleep(s.latencyMs);
    if (s.trouble === 'error') return reply.code(503).send({ error: 'rates temporarily unavailable' });
    if (s.trouble === 'timeout') {
      reply.hijack();
      await sleep(30_000);
      reply.raw.destroy();
      return;
    }
    if (s.trouble === 'malformed')
      return reply.type('application/json').send('{"base":"USDT","rates":{"CNY":7.25');
    const period = s.publishEveryS * 1000;
    const published = Math.floor(Date.now() / period) * period;
    return { base: s.base, as_of: new Date(published - s.staleByS * 1000).toISOString(), rates: s.rates };
  });
  app.get('/__sim/feed', async () => settings);
  app.put('/__sim/feed', { schema: { body: FeedPatch } }, async (req) => {
    settings = { ...settings, ...(req.body as FeedPatch) };
    return settings;
  });
  app.get('/__sim/stats', async () => ({ requests }));
  const url = await listen(app, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    url,
    feedUrl: `${url}/v1/rates`,
    get settings() {
      return settings;
    },
    set(patch) {
      settings = { ...settings, ...patch };
    },
    get requests() {
      return requests;
    },
    close: () => app.close(),
  };
}
