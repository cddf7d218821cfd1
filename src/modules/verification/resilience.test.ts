import { describe, expect, it } from 'vitest';
import { IssuerCallError } from '../../adapters/issuers/port.js';
import { NotSentError, RouteGuard } from './resilience.js';

const fast = { initialDelayMs: 1, maxDelayMs: 2, maxRetries: 3 };
const failing = (kind: IssuerCallError['kind']) => async () => {
  throw new IssuerCallError(kind, kind);
};

describe('RouteGuard', () => {
  it('retries a safe call at most 3 times, and only on issuer trouble', async () => {
    const guard = new RouteGuard({ timeoutMs: 1000, maxConcurrency: 4, capacityPerMinute: 100, retry: fast });
    let calls = 0;
    await expect(
      guard.callSafe(async () => {
        calls++;
        return failing('unavailable')();
      }),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    expect(calls).toBe(4);
    calls = 0;
    await expect(
      guard.callSafe(async () => {
        calls++;
        return failing('rejected')();
      }),
    ).rejects.toMatchObject({ kind: 'rejected' });
    expect(calls).toBe(1);
  });

  it('never retries a call made once (redeem)', async () => {
    const guard = new RouteGuard({ timeoutMs: 1000, maxConcurrency: 4, capacityPerMinute: 100, retry: fast });
    let calls = 0;
    await expect(
      guard.callOnce(async () => {
        calls++;
        return failing('timeout')();
      }),
    ).rejects.toBeInstanceOf(IssuerCallError);
    expect(calls).toBe(1);
  });

  it('times a call out and aborts its signal', async () => {
    const guard = new RouteGuard({
      timeoutMs: 30,
      maxConcurrency: 4,
      capacityPerMinute: 100,
      retry: { ...fast, maxRetries: 0 },
    });
    let aborted = false;
    const err = await guard
      .callOnce(
        (signal) =>
          new Promise((_, reject) =>
            signal.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('aborted'));
            }),
          ),
      )
      .catch((e) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(aborted).toBe(true);
  });

  it('opens the breaker at >= 50% failures over >= 20 calls, fails fast, then probes half-open', async () => {
    const guard = new RouteGuard({
      timeoutMs: 1000,
      maxConcurrency: 50,
      capacityPerMinute: 1000,
      retry: { ...fast, maxRetries: 0 },
      breaker: { threshold: 0.5, windowMs: 10_000, minCalls: 20, halfOpenAfterMs: 100 },
    });
    // 10 failures among the first 19 calls: too few calls to judge.
    for (let i = 0; i < 19; i++)
      await guard.callOnce(i % 2 === 0 ? failing('unavailable') : async () => 'ok').catch(() => undefined);
    expect(guard.circuitState).toBe('closed');
    await guard.callOnce(failing('unavailable')).catch(() => undefined);
    expect(guard.circuitState).toBe('open');
    let called = false;
    await expect(
      guard.callOnce(async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(NotSentError);
    expect(called).toBe(false);
    await new Promise((r) => setTimeout(r, 150));
    // Half-open: one probe goes through; its success closes the circuit.
    await expect(guard.callOnce(async () => 'probe')).resolves.toBe('probe');
    expect(guard.circuitState).toBe('closed');
  });

  it('business answers never count against the breaker', async () => {
    const guard = new RouteGuard({
      timeoutMs: 1000,
      maxConcurrency: 50,
      capacityPerMinute: 1000,
      retry: { ...fast, maxRetries: 0 },
    });
    for (let i = 0; i < 40; i++) await guard.callOnce(failing('rejected')).catch(() => undefined);
    expect(guard.circuitState).toBe('closed');
  });

  it('spends capacity per minute', async () => {
    const guard = new RouteGuard({ timeoutMs: 1000, maxConcurrency: 4, capacityPerMinute: 3 });
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push(await guard.takeCapacity());
    expect(taken).toEqual([true, true, true, false, false]);
  });

  it('a metered call beyond the capacity is not sent', async () => {
    const guard = new RouteGuard({ timeoutMs: 1000, maxConcurrency: 4, capacityPerMinute: 2 });
    let calls = 0;
    const work = async () => {
      calls++;
      return 'ok';
    };
    await guard.callSafe(work, undefined, true);
    await guard.callSafe(work, undefined, true);
    await expect(guard.callSafe(work, undefined, true)).rejects.toMatchObject({ why: 'capacity_spent' });
    expect(calls).toBe(2);
    // Unmetered calls (lookups of a redemption already made) are never held back by capacity.
    await expect(guard.callSafe(work)).resolves.toBe('ok');
  });

  it('caps concurrent calls: beyond the bulkhead and its queue a call is not sent', async () => {
    const guard = new RouteGuard({
      timeoutMs: 1000,
      maxConcurrency: 1,
      capacityPerMinute: 100,
      retry: { ...fast, maxRetries: 0 },
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let running = 0;
    let peak = 0;
    const work = async () => {
      running++;
      peak = Math.max(peak, running);
      await gate;
      running--;
    };
    const calls = Array.from({ length: 6 }, () =>
      guard.callOnce(work).then(
        () => 'done',
        (e) => e,
      ),
    );
    await new Promise((r) => setTimeout(r, 10));
    release();
    const results = await Promise.all(calls);
    expect(peak).toBe(1);
    // One runs, four wait in the queue, the sixth is refused before it is sent.
    expect(results.filter((r) => r === 'done')).toHaveLength(5);
    expect(results.filter((r) => r instanceof NotSentError)).toHaveLength(1);
  });
});
