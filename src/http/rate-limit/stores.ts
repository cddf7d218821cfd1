import type { Redis } from 'ioredis';
import type { Clock } from '../../shared/clock.js';
import { failFastRedis } from '../../shared/redis.js';
import { type Bucket, type Decision, gcraStep } from './gcra.js';

/** Where buckets live: this process (memory) or shared by every process (Redis). */
export interface BucketStore {
  /** Rejects when the store cannot answer (Redis down): the caller decides to fail open or closed. */
  take(key: string, bucket: Bucket, consume: boolean): Promise<Decision>;
  close(): Promise<void>;
}

/** Past this many keys, buckets back to full are dropped (they hold nothing a new one would not). */
const MEMORY_SWEEP_AT = 100_000;

export class MemoryBuckets implements BucketStore {
  private readonly tats = new Map<string, number>();
  constructor(private readonly clock: Clock) {}

  async take(key: string, bucket: Bucket, consume: boolean): Promise<Decision> {
    const now = this.clock.now();
    if (this.tats.size >= MEMORY_SWEEP_AT) this.sweep(now);
    const step = gcraStep(this.tats.get(key), now, bucket, consume);
    if (consume && step.decision.allowed) this.tats.set(key, step.tat);
    return step.decision;
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    // Every bucket in use: start over rather than grow without bound (a flood of distinct keys).
    if (this.tats.size >= MEMORY_SWEEP_AT) this.tats.clear();
  }

  async close(): Promise<void> {}
}

/**
 * gcraStep in Lua, atomic in Redis, timed by Redis's own clock so every process shares one. Times
 * in µs as doubles, stored with %.17g (exact). Returns strings: Redis truncates Lua numbers.
 */
const GCRA_LUA = `
local interval = 1000000 / tonumber(ARGV[1])
local capacity = tonumber(ARGV[2]) * interval
local consume = ARGV[3] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat > now + capacity + interval then tat = now end
local nxt = tat + interval
if nxt - now > capacity + 1 then
  return {0, '0', string.format('%.17g', nxt - now - capacity), string.format('%.17g', tat - now)}
end
local stored = tat
if consume then
  stored = nxt
  redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
end
local remaining = math.floor((capacity - (nxt - now)) / interval + 0.000001)
if remaining < 0 then remaining = 0 end
return {1, tostring(remaining), '0', string.format('%.17g', stored - now)}
`;

type GcraCommand = (
  key: string,
  rate: number,
  burst: number,
  consume: string,
) => Promise<string[] | number[]>;

export class RedisBuckets implements BucketStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    onError: (err: Error) => void,
    private readonly prefix = 'recard:rl:',
  ) {
    this.redis = failFastRedis(url, onError);
    this.redis.defineCommand('recardGcra', { numberOfKeys: 1, lua: GCRA_LUA });
  }

  async take(key: string, bucket: Bucket, consume: boolean): Promise<Decision> {
    const gcra = (this.redis as unknown as { recardGcra: GcraCommand }).recardGcra.bind(this.redis);
    const [allowed, remaining, retryUs, resetUs] = (await gcra(
      this.prefix + key,
      bucket.rate,
      bucket.burst,
      consume ? '1' : '0',
    )) as [number, string, string, string];
    return {
      allowed: Number(allowed) === 1,
      remaining: Number(remaining),
      retryAfterMs: Number(retryUs) / 1000,
      resetMs: Number(resetUs) / 1000,
    };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
