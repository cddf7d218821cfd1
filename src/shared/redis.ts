import { Redis } from 'ioredis';

/**
 * A Redis connection that never queues or retries a command while disconnected (a limiter or a
 * counter that waits is worse than one that fails), reconnecting on its own, and reporting trouble
 * at most once a minute (a reconnect loop would report every attempt).
 */
export function failFastRedis(url: string, onError: (err: Error) => void): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: true,
  });
  let lastError = 0;
  redis.on('error', (err: Error) => {
    if (Date.now() - lastError < 60_000) return;
    lastError = Date.now();
    onError(err);
  });
  redis.connect().catch(() => undefined);
  return redis;
}
