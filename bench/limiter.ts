/**
 * The rate limiter's cost per request (docs/limits.md): one bucket step in memory and one Lua call to
 * Redis, sequential and with 100 in flight (as 100 connections would have). `node --import tsx
 * bench/limiter.ts`; REDIS_URL (default redis://127.0.0.1:6379) for the Redis rows. Part of npm run bench.
 */
import { cpus } from 'node:os';
import type { Bucket } from '../src/http/rate-limit/gcra.js';
import { type BucketStore, MemoryBuckets, RedisBuckets } from '../src/http/rate-limit/stores.js';
import { systemClock } from '../src/shared/clock.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A bucket nobody empties: every step is the full work of an allowed request.
const OPEN: Bucket = { rate: 1e9, burst: 1e9 };

async function sequential(store: BucketStore, n: number, keys: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await store.take(`bench:${i % keys}`, OPEN, true);
  return ((performance.now() - t0) * 1000) / n;
}

async function concurrent(store: BucketStore, n: number, inFlight: number, keys: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const i = next++;
        await store.take(`bench:${i % keys}`, OPEN, true);
      }
    }),
  );
  return ((performance.now() - t0) * 1000) / n;
}

const rows: string[] = [];
const memory = new MemoryBuckets(systemClock);
await sequential(memory, 50_000, 1000);
rows.push(`| memory, sequential, 1,000 keys | ${(await sequential(memory, 500_000, 1000)).toFixed(2)} µs |`);
rows.push(
  `| memory, 100 in flight, 1,000 keys | ${(await concurrent(memory, 500_000, 100, 1000)).toFixed(2)} µs |`,
);
const redis = new RedisBuckets(REDIS_URL, () => undefined);
// It connects lazily and queues nothing while connecting: let it connect first.
await new Promise((r) => setTimeout(r, 500));
try {
  await sequential(redis, 2_000, 100);
  rows.push(`| Redis (loopback), sequential | ${(await sequential(redis, 20_000, 100)).toFixed(1)} µs |`);
  rows.push(
    `| Redis (loopback), 100 in flight | ${(await concurrent(redis, 100_000, 100, 1000)).toFixed(1)} µs |`,
  );
} catch (err) {
  rows.push(`| Redis | skipped: ${(err as Error).message} |`);
} finally {
  await redis.close?.();
}
process.stdout.write(
  [
    `Rate limiter, one step per request; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.`,
    '',
    '| store | time per request (wall, per step) |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
process.exit(0);
