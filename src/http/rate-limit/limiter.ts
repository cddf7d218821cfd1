import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Bucket, Decision } from './gcra.js';
import type { BucketStore } from './stores.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route takes card numbers (or passwords): when the limiter's store is down it fails
     * closed (503) rather than go unlimited.
     */
    takesCards?: boolean;
  }
}

export interface RateLimitOptions {
  store: BucketStore;
  /** A channel's bucket when the channel sets none (RECARD_CHANNEL_RATE, RECARD_CHANNEL_BURST). */
  channelDefault: Bucket;
  /** Each client address's bucket for traffic without proven credentials (RECARD_IP_RATE, RECARD_IP_BURST). */
  ip: Bucket;
  logger: Logger;
}

/** Probes and scrapes come every few seconds from the platform: never limited. */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Seconds, rounded up, and at least 1 when anything is left to wait. */
const seconds = (ms: number) => (ms <= 0 ? 0 : Math.max(1, Math.ceil(ms / 1000 - 1e-9)));

/** The fields of draft-ietf-httpapi-ratelimit-headers-09: the policy and what is left of it. */
function fields(name: string, bucket: Bucket, d: Decision): Record<string, string> {
  return {
    'ratelimit-policy': `"${name}";q=${bucket.burst};w=${seconds((bucket.burst / bucket.rate) * 1000)}`,
    ratelimit: `"${name}";r=${d.remaining};t=${seconds(d.resetMs)}`,
  };
}

/**
 * The bucket of a client address. An IPv6 host usually holds a whole /64, so IPv6 addresses share
 * their /64's bucket (an IPv4 address written as IPv6 is its IPv4 self); each IPv4 address has its own.
 */
export function addressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return `ip:${ip}`;
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return `ip:${addr.toString()}`;
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `ip6:${parts.join(':')}::/64`;
}

function credentialed(request: FastifyRequest): boolean {
  const h = request.headers;
  return (
    h.authorization !== undefined ||
    h['x-recard-signature'] !== undefined ||
    h['x-recard-channel'] !== undefined
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Credentials were presented: a 401 answer costs the address a token (brute force is throttled). */
    rateLimitCredentialed?: boolean;
  }
}

/**
 * Token buckets (GCRA, gcra.ts) per channel after authentication and per client address before it
 * (docs/limits.md#rate-limits). A refusal is 429 `rate_limited` with Retry-After and the RateLimit
 * fields. When the store cannot answer, routes that take cards fail closed (503
 * `rate_limiter_unavailable`) and the others go on unlimited.
 */
export class RateLimits {
  constructor(private readonly options: RateLimitOptions) {}

  /** Draws from the bucket; undefined when the store is down and the route may go on. */
  private async draw(
    request: FastifyRequest,
    key: string,
    bucket: Bucket,
    consume: boolean,
  ): Promise<Decision | undefined> {
    try {
      return await this.options.store.take(key, bucket, consume);
    } catch (err) {
      if (request.routeOptions.config?.takesCards)
        throw new ApiError(
          'rate_limiter_unavailable',
          'The rate limiter cannot be reached; cards are not taken in without it. Retry shortly.',
          { headers: { 'retry-after': '1' } },
        );
      request.log.warn({ err }, 'rate limiter unavailable: request let through');
      return undefined;
    }
  }

  private refuse(name: string, bucket: Bucket, d: Decision): never {
    throw new ApiError(
      'rate_limited',
      `Too many requests; ${name} allows ${bucket.rate} per second with bursts of ${bucket.burst}.`,
      { headers: { ...fields(name, bucket, d), 'retry-after': String(seconds(d.retryAfterMs)) } },
    );
  }

  /** The channel's bucket, once its signature is proven. */
  async channel(
    request: FastifyRequest,
    reply: FastifyReply,
    channel: { id: string; limits: { rate_per_second: number | null; rate_burst: number | null } },
  ): Promise<void> {
    const bucket = {
      rate: channel.limits.rate_per_second ?? this.options.channelDefault.rate,
      burst: channel.limits.rate_burst ?? this.options.channelDefault.burst,
    };
    const d = await this.draw(request, `ch:${channel.id}`, bucket, true);
    if (!d) return;
    if (!d.allowed) this.refuse('channel', bucket, d);
    void reply.headers(fields('channel', bucket, d));
  }

  /**
   * The client address's bucket: for traffic with no credentials, and reusable by routes whose
   * callers have none (seller pages).
   */
  async ip(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const d = await this.draw(request, addressKey(request.ip), this.options.ip, true);
    if (!d) return;
    if (!d.allowed) this.refuse('ip', this.options.ip, d);
    void reply.headers(fields('ip', this.options.ip, d));
  }

  /**
   * Every request: one without credentials draws from its address's bucket; one with credentials
   * is refused only if its address's bucket is empty (it peeks), and draws from it when its
   * credentials fail (the 401), so guessing secrets or tokens is throttled per address.
   */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      if (OPS_PATHS.has(request.url.split('?')[0] ?? '')) return;
      if (!credentialed(request)) return this.ip(request, reply);
      request.rateLimitCredentialed = true;
      const d = await this.draw(request, addressKey(request.ip), this.options.ip, false);
      if (d && !d.allowed) this.refuse('ip', this.options.ip, d);
    });
    // Before the answer leaves, so that the caller's next guess already meets the spent token.
    // A call that showed credentials but was never authenticated by them (a refused one, or a
    // made-up header on a public route) pays like one without: a dummy header is no way around it.
    app.addHook('onSend', async (request, reply) => {
      if (!request.rateLimitCredentialed) return;
      const proven =
        request.channel !== undefined || request.admin !== undefined || request.sellerSession !== undefined;
      if (proven && reply.statusCode !== 401) return;
      await this.options.store.take(addressKey(request.ip), this.options.ip, true).catch(() => undefined);
    });
  }
}
