/**
 * N live-stream clients (SSE) in one process, for bench/streams.ts: each opens a signed
 * GET /v1/events/stream and records, for every event, how long after it was written it arrived.
 * Prints `connected N` once all are open, and the latency figures once each got EXPECT events.
 */
import { Agent, request } from 'undici';
import { RecardClient } from '../src/client/client.js';

const url = process.env.STREAM_URL ?? '';
const count = Number(process.env.STREAM_CLIENTS ?? 1000);
const expect = Number(process.env.STREAM_EXPECT ?? 20);
const client = new RecardClient({
  baseUrl: url,
  channelId: process.env.STREAM_CHANNEL ?? '',
  secret: process.env.STREAM_SECRET ?? '',
});
const agent = new Agent({ connections: count + 10, bodyTimeout: 0, headersTimeout: 30_000 });
const latencies: number[] = [];
let done = 0;
let open = 0;

async function one(): Promise<void> {
  const path = '/v1/events/stream';
  const res = await request(new URL(path, url), {
    headers: client.headersFor('GET', path),
    dispatcher: agent,
  });
  if (res.statusCode !== 200) throw new Error(`stream answered ${res.statusCode}`);
  open++;
  if (open === count) process.stdout.write(`connected ${count}\n`);
  let buffer = '';
  let got = 0;
  for await (const chunk of res.body) {
    buffer += (chunk as Buffer).toString('utf8');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      const event = JSON.parse(data.slice(6)) as { created_at: string };
      latencies.push(Date.now() - Date.parse(event.created_at));
      if (++got === expect && ++done === count) report();
    }
  }
}

function report(): void {
  const s = latencies.sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  process.stdout.write(
    `${JSON.stringify({ n: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.at(-1) })}\n`,
  );
  process.exit(0);
}

// Opened in waves, as clients arrive, not all in one tick.
for (let i = 0; i < count; i++) {
  one().catch((err) => {
    process.stderr.write(`client failed: ${String(err)}\n`);
    process.exit(1);
  });
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
}
