import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  CircuitState,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { IssuerCallError } from '../../adapters/issuers/port.js';

/**
 * Per-route resilience (cockatiel): every call has a timeout and a concurrency cap (bulkhead); a
 * circuit breaker opens at ≥ 50 % failures over ≥ 20 calls in a 10 s window and probes half-open;
 * safe calls (inquire, lookup) are retried with exponential backoff and jitter, at most 3 times.
 * A redeem is never retried here: its unknown outcome is the worker's to settle by lookup.
 * See docs/decisions/0009-issuer-resilience.md.
 */
export interface ResilienceSettings {
  timeoutMs: number;
  maxConcurrency: number;
  capacityPerMinute: number;
  breaker?: { threshold: number; windowMs: number; minCalls: number; halfOpenAfterMs: number };
  retry?: { maxRetries: number; initialDelayMs: number; maxDelayMs: number };
}

export const DEFAULT_BREAKER = { threshold: 0.5, windowMs: 10_000, minCalls: 20, halfOpenAfterMs: 5_000 };
export const DEFAULT_RETRY = { maxRetries: 3, initialDelayMs: 50, maxDelayMs: 1_000 };

/** The call never left: the breaker was open, the bulkhead full or the capacity spent. Safe to send later. */
export class NotSentError extends Error {
  override name = 'NotSentError';
  constructor(
    readonly why: 'circuit_open' | 'bulkhead_full' | 'capacity_spent',
    message: string,
  ) {
    super(message);
  }
}

/** Errors that say the issuer is in trouble: they count against the breaker and are worth a retry. */
const isIssuerTrouble = (err: Error) =>
  (err instanceof IssuerCallError && err.transient) || err instanceof TaskCancelledError;

function normalise(err: unknown, timeoutMs: number): unknown {
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError)
    return new NotSentError('circuit_open', 'the route circuit breaker is open');
  if (err instanceof BulkheadRejectedError)
    return new NotSentError('bulkhead_full', 'too many calls in flight on this route');
  if (err instanceof TaskCancelledError)
    return new IssuerCallError('timeout', `no answer within ${timeoutMs} ms`);
  return err;
}

export class RouteGuard {
  private readonly breakerPolicy;
  private readonly once;
  private readonly safe;
  private readonly capacity: RateLimiterMemory;
  private readonly timeoutMs: number;

  constructor(settings: ResilienceSettings) {
    const b = settings.breaker ?? DEFAULT_BREAKER;
    const r = settings.retry ?? DEFAULT_RETRY;
    this.timeoutMs = settings.timeoutMs;
    this.breakerPolicy = circuitBreaker(handleWhen(isIssuerTrouble), {
      halfOpenAfter: b.halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: b.threshold,
        duration: b.windowMs,
        minimumRps: b.minCalls / (b.windowMs / 1000),
      }),
    });
    // Queue as many as may run: a short wait beats failing over to another route at once.
    const cap = bulkhead(settings.maxConcurrency, settings.maxConcurrency * 4);
    // The signal aborts the HTTP call when time runs out. Adapters have read the whole answer when they
    // return, so there is nothing to abort then (aborting every finished call cost ~3 % of CPU in
    // DOMException and listener work).
    const time = timeout(settings.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
    this.once = wrap(this.breakerPolicy, cap, time);
    const retries = retry(handleWhen(isIssuerTrouble), {
      maxAttempts: r.maxRetries,
      backoff: new ExponentialBackoff({ initialDelay: r.initialDelayMs, maxDelay: r.maxDelayMs }),
    });
    this.safe = wrap(retries, this.once);
    this.capacity = new RateLimiterMemory({ points: settings.capacityPerMinute, duration: 60 });
  }

  get circuitState(): 'closed' | 'open' | 'half_open' {
    const s = this.breakerPolicy.state;
    return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half_open' : 'open';
  }

  /** Takes one unit of the route's per-minute capacity; false when it is spent. */
  async takeCapacity(): Promise<boolean> {
    try {
      await this.capacity.consume('route');
      return true;
    } catch (err) {
      if (err instanceof Error) throw err;
      return false; // a RateLimiterRes: no points left this minute
    }
  }

  /** Whatever a call throws once its signal was aborted by the timeout, it timed out. */
  private async timed<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    metered: boolean,
  ): Promise<T> {
    // Capacity is taken only once the breaker let the call through: a call refused by an open
    // breaker spends none, and a half-open probe is metered like any call.
    if (metered && !(await this.takeCapacity()))
      throw new NotSentError('capacity_spent', 'the route capacity per minute is spent');
    try {
      return await fn(signal);
    } catch (err) {
      if (signal.aborted && !(err instanceof IssuerCallError))
        throw new IssuerCallError('timeout', `no answer within ${this.timeoutMs} ms`);
      throw err;
    }
  }

  /** A safe call (inquire, lookup): timeout, bulkhead, breaker and retries. */
  async callSafe<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
    metered = false,
  ): Promise<T> {
    try {
      return await this.safe.execute(({ signal: s }) => this.timed(fn, s, metered), signal);
    } catch (err) {
      throw normalise(err, this.timeoutMs);
    }
  }

  /** A call that must not be repeated (redeem): timeout, bulkhead, breaker, no retries. */
  async callOnce<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await this.once.execute(({ signal: s }) => this.timed(fn, s, false), signal);
    } catch (err) {
      throw normalise(err, this.timeoutMs);
    }
  }
}
