import type { Redis } from 'ioredis';
import type { Transaction } from 'kysely';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import {
  type BucketRange,
  type BucketValue,
  type BucketWrite,
  bucketsToAdd,
  type CounterSpec,
  type CounterValue,
  checkAmount,
  checkNow,
  checkObservation,
  checkSpecs,
  checkWindow,
  type Moments,
  mergeMoments,
  olderRangesToRead,
  type RiskCounters,
  rangesToRead,
  sumBuckets,
  windowExpiry,
  windowStart,
} from './counters.js';

/**
 * N buckets added to and M read, in one atomic call. A bucket is one hash (`c` orders, `a` amount)
 * under a key naming it, whose TTL ends when no window reads it any more (so expiry is the prune).
 * KEYS: the buckets to add to, then the buckets only read; ARGV[1]: the amount; ARGV[2]: how many
 * KEYS are added to; ARGV[2 + i]: the TTL (ms) KEYS[i] needs (kept if it already has a longer one).
 * Returns every key's (c, a), added ones after the add.
 */
const BUCKETS_LUA = `
local adds = tonumber(ARGV[2])
local out = {}
for i, k in ipairs(KEYS) do
  if i <= adds then
    local c = redis.call('HINCRBY', k, 'c', 1)
    local a = redis.call('HINCRBY', k, 'a', ARGV[1])
    local ttl = tonumber(ARGV[2 + i])
    if c == 1 or redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
    out[2 * i - 1] = c
    out[2 * i] = a
  else
    local v = redis.call('HMGET', k, 'c', 'a')
    out[2 * i - 1] = v[1] or '0'
    out[2 * i] = v[2] or '0'
  end
end
return out
`;

/**
 * One Welford step, the same floating-point operations as welfordAdd (Lua numbers are doubles),
 * stored with %.17g (exact). Returns the current window's statistics before x and the previous
 * window's, as strings (Redis would truncate Lua numbers). KEYS[1] current, KEYS[2] previous window;
 * ARGV[1] x, ARGV[2] the TTL (ms) of a new window.
 */
const OBSERVE_LUA = `
local function f(v) return string.format('%.17g', v) end
local x = tonumber(ARGV[1])
local cur = redis.call('HMGET', KEYS[1], 'n', 'mean', 'm2')
local n = tonumber(cur[1]) or 0
local mean = tonumber(cur[2]) or 0
local m2 = tonumber(cur[3]) or 0
local n1 = n + 1
local d = x - mean
local mean1 = mean + d / n1
local m21 = m2 + d * (x - mean1)
redis.call('HSET', KEYS[1], 'n', tostring(n1), 'mean', f(mean1), 'm2', f(m21))
if n == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local prev = redis.call('HMGET', KEYS[2], 'n', 'mean', 'm2')
return {tostring(n), f(mean), f(m2), prev[1] or '0', prev[2] or '0', prev[3] or '0'}
`;

const PEEK_MOMENTS_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'n', 'mean', 'm2')
local prev = redis.call('HMGET', KEYS[2], 'n', 'mean', 'm2')
return {cur[1] or '0', cur[2] or '0', cur[3] or '0', prev[1] or '0', prev[2] or '0', prev[3] or '0'}
`;

type Reply = Array<string | number>;

/** Every bucket of a range, as a read (its totals filled in by the call). */
const bucketsIn = (r: BucketRange): BucketValue[] => {
  const out: BucketValue[] = [];
  for (let start = r.first; start <= r.last; start += r.bucketMs)
    out.push({ key: r.key, bucketMs: r.bucketMs, start, count: 0, amount: 0 });
  return out;
};
interface RiskCommands {
  recardRiskBuckets(numKeys: number, ...args: Array<string | number>): Promise<Reply>;
  recardRiskObserve(current: string, previous: string, x: string, ttl: number): Promise<Reply>;
  recardRiskPeekMoments(current: string, previous: string): Promise<Reply>;
}

function moments(
  n: string | number | undefined,
  mean: string | number | undefined,
  m2: string | number | undefined,
): Moments {
  return Number(n ?? 0) === 0
    ? { n: 0, mean: 0, m2: 0 }
    : { n: Number(n), mean: Number(mean), m2: Number(m2) };
}

/**
 * The counters in Redis, shared by every process using it. Each call is one round trip (a Lua
 * script, atomic). `trx` is ignored: an add counts when made, even if the intake then rolls back
 * (or, on SQLite's group commit, is run again): see decision 0032.
 */
export class RedisRiskCounters implements RiskCounters {
  private readonly commands: RiskCommands;

  constructor(
    redis: Redis,
    private readonly prefix = 'recard:risk:',
  ) {
    redis.defineCommand('recardRiskBuckets', { lua: BUCKETS_LUA });
    redis.defineCommand('recardRiskObserve', { numberOfKeys: 2, lua: OBSERVE_LUA });
    redis.defineCommand('recardRiskPeekMoments', { numberOfKeys: 2, lua: PEEK_MOMENTS_LUA });
    this.commands = redis as unknown as RiskCommands;
  }

  private bucketKey(key: string, bucketMs: number, start: number): string {
    return `${this.prefix}c:${bucketMs}:${start}:${key}`;
  }

  private momentsKey(key: string, windowMs: number, start: number): string {
    return `${this.prefix}m:${windowMs}:${start}:${key}`;
  }

  /** Adds to `writes` and reads `reads`, one call; every bucket named comes back with its totals. */
  private async buckets(
    writes: BucketWrite[],
    reads: BucketValue[],
    amount: number,
    nowMs: number,
  ): Promise<BucketValue[]> {
    const named = [...writes, ...reads];
    if (named.length === 0) return [];
    const keys = named.map((b) => this.bucketKey(b.key, b.bucketMs, b.start));
    const ttls = writes.map((b) => Math.max(1, b.expiresAt - nowMs));
    const reply = await this.commands.recardRiskBuckets.call(
      this.commands,
      keys.length,
      ...keys,
      amount,
      writes.length,
      ...ttls,
    );
    return named.map((b, i) => ({
      key: b.key,
      bucketMs: b.bucketMs,
      start: b.start,
      count: Number(reply[2 * i]),
      amount: Number(reply[2 * i + 1]),
    }));
  }

  async add(
    _trx: Transaction<Database>,
    specs: CounterSpec[],
    amount: number,
    nowMs: number,
  ): Promise<CounterValue[]> {
    checkSpecs(specs, nowMs);
    checkAmount(amount);
    if (specs.length === 0) return [];
    const writes = bucketsToAdd(specs, nowMs);
    const older = olderRangesToRead(specs, nowMs).flatMap(bucketsIn);
    return sumBuckets(specs, await this.buckets(writes, older, amount, nowMs), nowMs);
  }

  async peek(_db: Db, specs: CounterSpec[], nowMs: number): Promise<CounterValue[]> {
    checkSpecs(specs, nowMs);
    if (specs.length === 0) return [];
    const reads = rangesToRead(specs, nowMs).flatMap(bucketsIn);
    return sumBuckets(specs, await this.buckets([], reads, 0, nowMs), nowMs);
  }

  async observe(
    _trx: Transaction<Database>,
    key: string,
    windowMs: number,
    x: number,
    nowMs: number,
  ): Promise<Moments> {
    checkObservation(key, x);
    checkWindow(windowMs);
    checkNow(nowMs);
    const start = windowStart(nowMs, windowMs);
    const r = await this.commands.recardRiskObserve.call(
      this.commands,
      this.momentsKey(key, windowMs, start),
      this.momentsKey(key, windowMs, start - windowMs),
      String(x),
      windowExpiry(start, windowMs) - nowMs,
    );
    return mergeMoments(moments(r[3], r[4], r[5]), moments(r[0], r[1], r[2]));
  }

  async peekMoments(_db: Db, key: string, windowMs: number, nowMs: number): Promise<Moments> {
    checkObservation(key, 0);
    checkWindow(windowMs);
    checkNow(nowMs);
    const start = windowStart(nowMs, windowMs);
    const r = await this.commands.recardRiskPeekMoments.call(
      this.commands,
      this.momentsKey(key, windowMs, start),
      this.momentsKey(key, windowMs, start - windowMs),
    );
    return mergeMoments(moments(r[3], r[4], r[5]), moments(r[0], r[1], r[2]));
  }
}
