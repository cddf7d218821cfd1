/**
 * A merchant's callback receiver for the benchmarks, in its own process: answers 200 `ok` on
 * /ok/<label> and never answers on /hang/<label>; records, per label, how long after the event was
 * written each callback arrived (the event's created_at and this process share the machine clock).
 * GET /stats answers the figures as JSON; POST /reset clears them.
 */
import { createServer } from 'node:http';

const seen = new Map<string, number[]>();
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const out: Record<string, { n: number; p50: number; p95: number; p99: number; max: number }> = {};
    for (const [label, list] of seen) {
      const s = [...list].sort((a, b) => a - b);
      const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
      out[label] = { n: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.at(-1) ?? Number.NaN };
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    seen.clear();
    res.writeHead(204).end();
    return;
  }
  const [, mode, label = 'default'] = (req.url ?? '').split('/');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (mode === 'hang') return; // the caller's timeout ends it
    const now = Date.now();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { created_at: string };
      const list = seen.get(label) ?? [];
      list.push(now - Date.parse(body.created_at));
      seen.set(label, list);
    } catch {
      // not an event body: counted nowhere
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.RECEIVER_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`receiver listening on ${port}\n`);
});
