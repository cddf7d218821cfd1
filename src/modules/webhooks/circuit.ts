/**
 * Per-endpoint protection for one worker process, so that an endpoint that hangs cannot take the
 * delivery slots every other channel needs (pure bookkeeping; the clock is passed in).
 *
 * - **Slow cap.** While an endpoint is slow (an attempt in flight for over a second, or the last one
 *   took that long), at most `slowCap` of its attempts run at once; more wait (the job is deferred
 *   without spending an attempt). A fast endpoint has no cap beyond the kind's slots.
 * - **Circuit.** After `openAfter` attempts in a row that timed out or could not connect, the
 *   endpoint is open: attempts are logged as `endpoint_unavailable` without a request, on the
 *   delivery's own timetable, except one probe at a time once the open period is over (15 s, doubling
 *   to 5 min while probes fail). Any answer closes it.
 */
export interface CircuitOptions {
  slowMs: number;
  slowCap: number;
  openAfter: number;
  firstOpenMs: number;
  maxOpenMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = {
  slowMs: 1000,
  slowCap: 16,
  openAfter: 5,
  firstOpenMs: 15_000,
  maxOpenMs: 5 * 60_000,
};

interface State {
  running: Map<number, number>;
  lastLatencyMs: number;
  lastAt: number;
  failuresInRow: number;
  openUntil: number;
  openMs: number;
  probing: boolean;
}

export type Admission =
  | { kind: 'send'; ticket: number; probe: boolean }
  | { kind: 'wait' }
  | { kind: 'skip' };

export class EndpointCircuits {
  private readonly states = new Map<string, State>();
  private nextTicket = 0;

  constructor(private readonly o: CircuitOptions = DEFAULT_CIRCUIT) {}

  admit(key: string, nowMs: number): Admission {
    const s = this.state(key);
    if (s.openUntil > 0) {
      if (s.probing || nowMs < s.openUntil) return { kind: 'skip' };
      s.probing = true;
      return { kind: 'send', ticket: this.start(s, nowMs), probe: true };
    }
    if (this.isSlow(s, nowMs) && s.running.size >= this.o.slowCap) return { kind: 'wait' };
    return { kind: 'send', ticket: this.start(s, nowMs), probe: false };
  }

  /** `unreachable`: timed out or could not connect (an HTTP answer of any status is reachable). */
  done(key: string, ticket: number, probe: boolean, unreachable: boolean, nowMs: number): void {
    const s = this.state(key);
    const started = s.running.get(ticket) ?? nowMs;
    s.running.delete(ticket);
    s.lastLatencyMs = nowMs - started;
    s.lastAt = nowMs;
    if (probe) s.probing = false;
    if (!unreachable) {
      s.failuresInRow = 0;
      s.openUntil = 0;
      s.openMs = 0;
    } else {
      s.failuresInRow++;
      // The open period grows when it opens or a probe fails; attempts still in flight when it
      // opened change nothing (else 16 of them would take it straight to the maximum).
      const opening = s.openUntil === 0 && s.failuresInRow >= this.o.openAfter;
      if (opening || probe) {
        s.openMs = s.openMs === 0 ? this.o.firstOpenMs : Math.min(this.o.maxOpenMs, s.openMs * 2);
        s.openUntil = nowMs + s.openMs;
      }
    }
    if (s.running.size === 0 && s.openUntil === 0 && s.failuresInRow === 0 && !this.isSlow(s, nowMs))
      this.states.delete(key);
  }

  /** An admitted attempt that sent nothing (it was deferred): forgotten, counting neither way. */
  release(key: string, ticket: number, probe: boolean): void {
    const s = this.state(key);
    s.running.delete(ticket);
    if (probe) s.probing = false;
  }

  private isSlow(s: State, nowMs: number): boolean {
    if (s.lastLatencyMs >= this.o.slowMs && nowMs - s.lastAt < 60_000) return true;
    for (const started of s.running.values()) if (nowMs - started >= this.o.slowMs) return true;
    return false;
  }

  private start(s: State, nowMs: number): number {
    const ticket = ++this.nextTicket;
    s.running.set(ticket, nowMs);
    return ticket;
  }

  private state(key: string): State {
    let s = this.states.get(key);
    if (!s) {
      s = {
        running: new Map(),
        lastLatencyMs: 0,
        lastAt: 0,
        failuresInRow: 0,
        openUntil: 0,
        openMs: 0,
        probing: false,
      };
      this.states.set(key, s);
    }
    return s;
  }
}
