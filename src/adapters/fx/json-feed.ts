import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Agent, request } from 'undici';
import { DECIMAL_RATE_PATTERN, isCurrency, parseDecimalRate } from '../../shared/money.js';
import { type FxQuote, type FxRateSource, FxSourceError } from './port.js';

/**
 * A JSON rate feed over HTTP: `GET <url>` answers
 * `{"base":"USDT","as_of":"2026-11-23T08:00:00Z","rates":{"CNY":"7.2512","USD":"1.0002"}}`
 * (1 base = rate quote, rates as decimal strings). The simulator in src/simulators/fx-feed.ts serves
 * the same document. Currencies Recard does not hold are ignored.
 */
const FeedDocument = Type.Object({
  base: Type.String({ pattern: '^[A-Z]{3,5}$' }),
  as_of: Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
  }),
  rates: Type.Record(
    Type.String({ pattern: '^[A-Z]{3,5}$' }),
    Type.String({ pattern: DECIMAL_RATE_PATTERN }),
  ),
});
type FeedDocument = Static<typeof FeedDocument>;

/** A source clock this far ahead of ours is wrong, not early. */
const FUTURE_SLACK_MS = 60_000;

export interface JsonFeedOptions {
  url: string;
  timeoutMs?: number;
  now?: () => number;
}

export function jsonFeedSource(options: JsonFeedOptions): FxRateSource {
  const agent = new Agent({ connections: 2, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  return {
    name: `feed:${new URL(options.url).host}`,
    async latest(signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let status: number;
      let text: string;
      try {
        const res = await request(options.url, {
          method: 'GET',
          headers: { accept: 'application/json' },
          signal: combined,
          dispatcher: agent,
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (err) {
        if (combined.aborted) throw new FxSourceError('timeout', `no answer within ${timeoutMs} ms`);
        const code = (err as { code?: string }).code ?? (err as Error).message;
        throw new FxSourceError('connection', `cannot reach the feed (${code})`);
      }
      if (status >= 500) throw new FxSourceError('unavailable', `the feed answered HTTP ${status}`);
      if (status !== 200) throw new FxSourceError('malformed', `the feed answered HTTP ${status}`);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw new FxSourceError('malformed', 'the feed sent something that is not JSON');
      }
      if (!Value.Check(FeedDocument, doc)) {
        const first = Value.Errors(FeedDocument, doc).First();
        throw new FxSourceError(
          'malformed',
          `the feed document is invalid at ${first?.path || '/'}: ${first?.message}`,
        );
      }
      return quotesOf(doc as FeedDocument, now());
    },
    close: () => agent.close(),
  };
}

function quotesOf(doc: FeedDocument, now: number): FxQuote[] {
  const asOf = Date.parse(doc.as_of);
  if (Number.isNaN(asOf)) throw new FxSourceError('malformed', `as_of is not a time: ${doc.as_of}`);
  if (asOf > now + FUTURE_SLACK_MS)
    throw new FxSourceError('malformed', `as_of ${doc.as_of} is in the future`);
  const out: FxQuote[] = [];
  if (!isCurrency(doc.base)) return out;
  for (const [quote, rate] of Object.entries(doc.rates)) {
    if (!isCurrency(quote) || quote === doc.base) continue;
    try {
      parseDecimalRate(rate);
    } catch {
      throw new FxSourceError('malformed', `the rate for ${quote} is not a positive decimal`);
    }
    out.push({ base: doc.base, quote, rate, asOf });
  }
  return out;
}
