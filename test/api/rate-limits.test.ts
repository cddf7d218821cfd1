import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustProxyOption } from '../../src/http/app.js';
import { gcraStep } from '../../src/http/rate-limit/gcra.js';
import { MemoryBuckets, RedisBuckets } from '../../src/http/rate-limit/stores.js';
import type { Clock } from '../../src/shared/clock.js';
import { rawCall, send } from '../harness/http.js';
import { mobileOrder } from '../harness/orders.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';
import { sleep, waitFor } from '../harness/wait.js';

/** Time that moves only when told: bucket arithmetic without waiting, and without flakes. */
class ManualClock implements Clock {
  constructor(private ms = Date.now()) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const REDIS_URL = 'redis://127.0.0.1:6379';
const PRODUCTION_DEFAULTS = { channelRate: 100, channelBurst: 200, ipRate: 10, ipBurst: 20 };

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('token buckets (GCRA)', () => {
  it('a step refuses past the burst and refills at the rate', () => {
    const bucket = { rate: 10, burst: 3 };
    let tat: number | undefined;
    const at = (now: number) => {
      const s = gcraStep(tat, now, bucket, true);
      tat = s.tat;
      return s.decision;
    };
    expect([at(0), at(0), at(0)].map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const refused = at(0);
    expect([refused.allowed, refused.retryAfterMs]).toEqual([false, 100]);
    expect(at(99).allowed).toBe(false);
    expect(at(100).allowed).toBe(true);
    // A peek says what a take would, and changes nothing.
    expect(gcraStep(tat, 100, bucket, false).decision.allowed).toBe(false);
    expect(gcraStep(tat, 200, bucket, false).tat).toBe(tat);
    // A clock that went back (a TAT beyond an empty bucket) starts the bucket full, not empty for the jump.
    expect(gcraStep(100_000, 0, bucket, true).decision).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('memory store, 1,000 concurrent callers: accepted = burst + rate·t exactly, with an injected clock', async () => {
    const clock = new ManualClock();
    const store = new MemoryBuckets(clock);
    const bucket = { rate: 100, burst: 200 };
    const round = async () =>
      (await Promise.all(Array.from({ length: 1_000 }, () => store.take('k', bucket, true)))).filter(
        (d) => d.allowed,
      ).length;
    let accepted = await round();
    expect(accepted).toBe(200);
    // 1,000 callers every 37 ms for 3.7 s: the bucket gives rate·t more, never one over.
    for (let i = 1; i <= 100; i++) {
      clock.advance(37);
      accepted += await round();
      const expected = 200 + Math.floor((100 * 37 * i) / 1000);
      expect(Math.abs(accepted - expected)).toBeLessThanOrEqual(1);
    }
    expect(accepted).toBe(200 + 370);
    // Other keys are other buckets.
    expect((await store.take('other', bucket, true)).remaining).toBe(199);
  });

  it('Redis store on 127.0.0.1:6379, real time, 1,000 concurrent callers: accepted = burst + rate·t (±1)', async () => {
    const store = new RedisBuckets(
      REDIS_URL,
      () => undefined,
      `recard:test:${randomBytes(6).toString('hex')}:`,
    );
    try {
      const bucket = { rate: 200, burst: 100 };
      await waitFor(async () => (await store.take('warm', bucket, true).catch(() => undefined))?.allowed);
      let accepted = 0;
      let first = 0;
      let firstDone = 0;
      let lastStart = 0;
      const deadline = Date.now() + 1_000;
      const caller = async () => {
        while (Date.now() < deadline) {
          const started = Date.now();
          if (first === 0) first = started;
          const d = await store.take('k', bucket, true);
          if (firstDone === 0) firstDone = Date.now();
          lastStart = started;
          if (d.allowed) accepted++;
        }
      };
      await Promise.all(Array.from({ length: 1_000 }, caller));
      const end = Date.now();
      // The calls the bucket judged fall between the first call's start and the end; the window it
      // refilled over lies between (first answered, last sent) and (first sent, end).
      expect(accepted).toBeGreaterThanOrEqual(100 + Math.floor((200 * (lastStart - firstDone)) / 1000) - 1);
      expect(accepted).toBeLessThanOrEqual(100 + Math.ceil((200 * (end - first)) / 1000) + 1);
    } finally {
      await store.close();
    }
  });
});

describe.each(storageTargets().slice(0, 1))('rate limits over HTTP on $name', (target) => {
  describe('memory store, production defaults, injected clock', () => {
    let t: TestServer;
    const clock = new ManualClock();
    beforeAll(async () => {
      t = await startTestServer(target, { worker: false, clock, config: PRODUCTION_DEFAULTS });
    });
    afterAll(() => t.stop());
    const signedGet = (ch: { id: string; secret: string }, ts = Math.floor(clock.now() / 1000)) =>
      rawCall(t.url, {
        channelId: ch.id,
        secret: ch.secret,
        method: 'GET',
        path: '/v1/channel',
        timestamp: ts,
      });

    it('the "3,443/s accepted" probe: a burst of signed requests past the bucket gets 429 rate_limited with Retry-After and RateLimit fields', async () => {
      const ch = await t.createChannel({ name: 'prober' });
      // 450 at once (more would overflow the listen backlog and measure TCP retries instead).
      const burst = await Promise.all(Array.from({ length: 450 }, () => signedGet(ch)));
      const ok = burst.filter((r) => r.status === 200);
      const limited = burst.filter((r) => r.status === 429);
      expect(ok).toHaveLength(200);
      expect(limited).toHaveLength(250);
      expect(ok[0]?.headers.get('ratelimit-policy')).toBe('"channel";q=200;w=2');
      expect(ok[0]?.headers.get('ratelimit')).toMatch(/^"channel";r=\d+;t=\d+$/);
      const refusal = limited[0];
      expect(refusal?.body.error?.code).toBe('rate_limited');
      expect(refusal?.headers.get('retry-after')).toBe('1');
      expect(refusal?.headers.get('ratelimit-policy')).toBe('"channel";q=200;w=2');
      expect(refusal?.headers.get('ratelimit')).toBe('"channel";r=0;t=2');
      // One second later: rate·t = 100 more, and not one over.
      clock.advance(1_000);
      const next = await Promise.all(Array.from({ length: 250 }, () => signedGet(ch)));
      expect(next.filter((r) => r.status === 200)).toHaveLength(100);
    });

    it("a channel's own rate and burst are honoured", async () => {
      const ch = await t.createChannel({ name: 'slow', limits: { rate_per_second: 2, rate_burst: 3 } });
      const first = await Promise.all(Array.from({ length: 10 }, () => signedGet(ch)));
      expect(first.filter((r) => r.status === 200)).toHaveLength(3);
      expect(first.find((r) => r.status === 200)?.headers.get('ratelimit-policy')).toBe('"channel";q=3;w=2');
      clock.advance(500);
      const later = await Promise.all(Array.from({ length: 10 }, () => signedGet(ch)));
      expect(later.filter((r) => r.status === 200)).toHaveLength(1);
      // Another channel is not held up by this one.
      const other = await t.createChannel({ name: 'other' });
      expect((await signedGet(other)).status).toBe(200);
    });

    it('unauthenticated traffic is limited per address: unknown routes and public endpoints', async () => {
      clock.advance(10_000); // the address's bucket full again
      const calls = await Promise.all(
        Array.from({ length: 30 }, (_, i) => send(t.url, 'GET', i % 2 ? '/no-such-route' : '/openapi.json')),
      );
      expect(calls.filter((r) => r.status === 429)).toHaveLength(10);
      const refused = calls.find((r) => r.status === 429);
      expect(refused?.body.error?.code).toBe('rate_limited');
      expect(refused?.headers.get('ratelimit-policy')).toBe('"ip";q=20;w=2');
      expect(refused?.headers.get('retry-after')).toBe('1');
      expect(calls.find((r) => r.status === 404)?.headers.get('ratelimit')).toMatch(/^"ip";r=\d+;t=\d+$/);
      // Probes are never limited.
      expect((await send(t.url, 'GET', '/healthz')).status).toBe(200);
    });

    it('failed authentication draws from the address: guessing is throttled, and then even a good signature waits', async () => {
      clock.advance(10_000);
      const ch = await t.createChannel({ name: 'target' });
      const guess = () =>
        rawCall(t.url, {
          channelId: ch.id,
          secret: `sk_${randomBytes(8).toString('hex')}`,
          method: 'GET',
          path: '/v1/channel',
          timestamp: Math.floor(clock.now() / 1000),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) statuses.push((await guess()).status);
      expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(statuses.slice(20)).toEqual(Array(5).fill(429));
      const admin = await t.admin('GET', '/admin/v1/channels', undefined, 'x'.repeat(40));
      expect(admin.status).toBe(429);
      expect((await signedGet(ch)).status).toBe(429);
      // Good credentials do not draw from the address's bucket: they are limited per channel.
      clock.advance(10_000);
      const good = await Promise.all(Array.from({ length: 50 }, () => signedGet(ch)));
      expect(good.every((r) => r.status === 200)).toBe(true);
    });
  });

  describe('Redis store', () => {
    let t: TestServer;
    let port: number;
    const startRedis = () =>
      execFileSync('redis-server', [
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'yes',
      ]);
    const stopRedis = () => execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
    beforeAll(async () => {
      port = await closedPort();
      startRedis();
      await waitFor(() => {
        try {
          return execFileSync('redis-cli', ['-p', String(port), 'ping'])
            .toString()
            .includes('PONG');
        } catch {
          return false;
        }
      });
      t = await startTestServer(target, { worker: false, config: { redisUrl: `redis://127.0.0.1:${port}` } });
    });
    afterAll(async () => {
      await t.stop();
      try {
        stopRedis();
      } catch {
        // already stopped
      }
    });

    it('buckets live in Redis; when it is down card intake fails closed (503) and reads go on; back up, intake resumes', async () => {
      const ch = await t.createChannel({
        name: 'redis-backed',
        limits: { rate_per_second: 1, rate_burst: 2 },
      });
      const get = () => ch.client.get<{ error?: { code: string } }>('/v1/channel');
      await waitFor(async () => (await get()).headers.get('ratelimit') !== null, 10_000, 'redis connected');
      const submitted = await ch.client.post('/v1/orders', mobileOrder());
      expect([submitted.status, submitted.headers.get('ratelimit-policy')]).toEqual([
        201,
        '"channel";q=2;w=2',
      ]);
      expect((await get()).status).toBe(429);
      const keys = execFileSync('redis-cli', ['-p', String(port), 'keys', '*']).toString();
      expect(keys).toContain(`recard:rl:ch:${ch.id}`);

      stopRedis();
      await sleep(100);
      const refused = await ch.client.post<{ error: { code: string } }>('/v1/orders', mobileOrder());
      expect([refused.status, refused.body.error.code, refused.headers.get('retry-after')]).toEqual([
        503,
        'rate_limiter_unavailable',
        '1',
      ]);
      const read = await get();
      expect(read.status).toBe(200);
      expect(read.headers.get('ratelimit')).toBeNull();
      expect((await send(t.url, 'GET', '/openapi.json')).status).toBe(200);

      startRedis();
      await waitFor(
        async () => (await ch.client.post('/v1/orders', mobileOrder())).status === 201,
        15_000,
        'intake after Redis is back',
      );
    });

    it('with REDIS_URL on a closed port, submit is 503 from the start and GET answers', async () => {
      const down = await startTestServer(target, {
        worker: false,
        config: { redisUrl: `redis://127.0.0.1:${await closedPort()}` },
      });
      try {
        const ch = await down.createChannel({ name: 'no-redis' });
        const res = await ch.client.post<{ error: { code: string } }>('/v1/orders', mobileOrder());
        expect([res.status, res.body.error.code]).toEqual([503, 'rate_limiter_unavailable']);
        expect((await ch.client.get('/v1/channel')).status).toBe(200);
        expect(await down.counts()).toMatchObject({ orders: 0 });
      } finally {
        await down.stop();
      }
    });
  });

  describe('RECARD_TRUST_PROXY', () => {
    it('is off by default, `true`, a hop count or addresses, as Fastify takes them', () => {
      expect([undefined, 'false', 'true', '2', '10.0.0.0/8,127.0.0.1'].map(trustProxyOption)).toEqual([
        false,
        false,
        true,
        2,
        '10.0.0.0/8,127.0.0.1',
      ]);
    });

    it('off: X-Forwarded-For is ignored; trusting the proxy: the forwarded address is the client', async () => {
      const forwarded = { 'x-forwarded-for': '203.0.113.7' };
      for (const [trustProxy, expected] of [
        [undefined, 403],
        ['127.0.0.1', 200],
      ] as const) {
        const t = await startTestServer(target, {
          worker: false,
          config: trustProxy ? { trustProxy } : {},
        });
        try {
          const ch = await t.createChannel({
            name: 'behind-proxy',
            limits: { ip_allowlist: ['203.0.113.0/24'] },
          });
          const res = await rawCall(t.url, {
            channelId: ch.id,
            secret: ch.secret,
            method: 'GET',
            path: '/v1/channel',
            headers: forwarded,
          });
          expect(res.status).toBe(expected);
        } finally {
          await t.stop();
        }
      }
    });
  });
});
