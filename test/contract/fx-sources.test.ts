import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonFeedSource } from '../../src/adapters/fx/json-feed.js';
import { type FxRateSource, FxSourceError } from '../../src/adapters/fx/port.js';
import { DEFAULT_FEED, type FxFeedSimulator, startFxFeedSimulator } from '../../src/simulators/fx-feed.js';

/**
 * The contract every exchange-rate source keeps (src/adapters/fx/port.ts), run against each source
 * paired with its simulator: rates as exact decimal text with the time they were true, and every
 * failure as an FxSourceError of the right kind — never a guess.
 */
const pairs: { name: string; start(): Promise<{ sim: FxFeedSimulator; source: FxRateSource }> }[] = [
  {
    name: 'JSON feed',
    async start() {
      const sim = await startFxFeedSimulator();
      return { sim, source: jsonFeedSource({ url: sim.feedUrl, timeoutMs: 300 }) };
    },
  },
];

describe.each(pairs)('$name against its simulator', (pair) => {
  let sim: FxFeedSimulator;
  let source: FxRateSource;
  beforeAll(async () => {
    ({ sim, source } = await pair.start());
  });
  afterAll(async () => {
    await source.close();
    await sim.close();
  });
  const reset = () => sim.set({ ...DEFAULT_FEED });

  it('reports every published rate of a currency Recard holds, as the exact text, with its time', async () => {
    reset();
    sim.set({ rates: { ...DEFAULT_FEED.rates, XAU: '0.0004', CNY: '7.251234567891' } });
    const before = Date.now();
    const quotes = await source.latest();
    expect(quotes.map((q) => [q.base, q.quote, q.rate]).sort()).toEqual(
      [
        ['USDT', 'CNY', '7.251234567891'],
        ['USDT', 'EUR', '0.9215'],
        ['USDT', 'HKD', '7.7931'],
        ['USDT', 'USD', '1.0002'],
      ].sort(),
    );
    // Published once per period (10 s): the time is of the last publication, never ahead of us.
    for (const q of quotes) {
      expect(q.asOf).toBeLessThanOrEqual(Date.now());
      expect(before - q.asOf).toBeLessThan(11_000);
    }
  });

  it('a feed that no longer moves reports its old time, so pricing can call it stale', async () => {
    reset();
    sim.set({ staleByS: 3_600 });
    const [q] = await source.latest();
    expect(Date.now() - (q?.asOf ?? 0)).toBeGreaterThan(3_500_000);
  });

  it.each([
    ['error', 'unavailable'],
    ['timeout', 'timeout'],
    ['malformed', 'malformed'],
  ] as const)('trouble "%s" is an FxSourceError of kind %s', async (trouble, kind) => {
    reset();
    sim.set({ trouble });
    const err = await source.latest().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FxSourceError);
    expect((err as FxSourceError).kind).toBe(kind);
  });

  it('a rate that is not a positive decimal makes the whole document malformed, not a partial read', async () => {
    reset();
    const err = await fetch(`${sim.url}/__sim/feed`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rates: { CNY: '7.25e0' } }),
    });
    expect(err.status).toBe(400); // the simulator refuses it too: its switches are strict
    sim.set({ rates: { CNY: '0.000' } });
    const e = await source.latest().catch((x: unknown) => x);
    expect((e as FxSourceError).kind).toBe('malformed');
  });

  it('an unreachable source is a connection error', async () => {
    const gone = jsonFeedSource({ url: 'http://127.0.0.1:9/v1/rates', timeoutMs: 500 });
    const err = await gone.latest().catch((e: unknown) => e);
    await gone.close();
    expect((err as FxSourceError).kind).toMatch(/connection|timeout/);
  });
});
