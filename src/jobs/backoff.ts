import type { BackoffPolicy } from './model.js';

/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random, so retries
 * of many jobs that failed together spread out but none comes back at once. `random` in [0, 1).
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  failedAttempt: number,
  random: number = Math.random(),
): number {
  if (policy.scheduleMs && policy.scheduleMs.length > 0) {
    const i = Math.min(Math.max(failedAttempt - 1, 0), policy.scheduleMs.length - 1);
    return policy.scheduleMs[i] as number;
  }
  const exponent = Math.min(Math.max(failedAttempt - 1, 0), 30);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.floor(ceiling / 2 + (ceiling / 2) * random);
}
