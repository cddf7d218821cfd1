/** Time as a dependency, so that tests and simulations can drive it. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
