import type { Clock } from '../../src/shared/clock.js';

/**
 * The real clock, moved forward on demand: for expiries (quotes, freshness) without waiting. Keep
 * shifts inside the signature window (RECARD_SIGNATURE_WINDOW_S), since clients sign with real time.
 */
export class ShiftedClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
