/**
 * A token bucket as GCRA (the generic cell rate algorithm): one number per key, the theoretical
 * arrival time (TAT) of the next request once the bucket is empty. A bucket of `burst` tokens
 * refilled at `rate` per second accepts, from full, burst + rate·t requests over t seconds, and
 * never more. Pure; the Redis store runs the same steps in Lua (stores.ts), in microseconds.
 */
export interface Bucket {
  /** Tokens added per second (the sustained rate). */
  rate: number;
  /** Tokens the bucket holds (the largest burst). */
  burst: number;
}

export interface Decision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When refused: ms until one token is back. */
  retryAfterMs: number;
  /** ms until the bucket is full again. */
  resetMs: number;
}

/**
 * One step. `consume` false peeks: says whether a request would be accepted and changes nothing.
 * Returns the decision and the TAT to store.
 */
export function gcraStep(
  tat: number | undefined,
  now: number,
  bucket: Bucket,
  consume: boolean,
): { decision: Decision; tat: number } {
  const interval = 1000 / bucket.rate;
  const capacity = bucket.burst * interval;
  // A TAT further ahead than an empty bucket can only come from a clock that went back: start the
  // bucket full rather than hold it empty for as long as the jump.
  const known = tat === undefined || tat > now + capacity + interval ? now : tat;
  const base = Math.max(known, now);
  const next = base + interval;
  // A hair of tolerance: float steps must not refuse a token that is due.
  if (next - now > capacity + 1e-6)
    return {
      decision: { allowed: false, remaining: 0, retryAfterMs: next - now - capacity, resetMs: base - now },
      tat: base,
    };
  const stored = consume ? next : base;
  return {
    decision: {
      allowed: true,
      remaining: Math.max(0, Math.floor((capacity - (next - now)) / interval + 1e-6)),
      retryAfterMs: 0,
      resetMs: stored - now,
    },
    tat: stored,
  };
}
