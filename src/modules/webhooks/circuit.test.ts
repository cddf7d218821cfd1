import { describe, expect, it } from 'vitest';
import { EndpointCircuits } from './circuit.js';

const options = { slowMs: 1000, slowCap: 2, openAfter: 3, firstOpenMs: 15_000, maxOpenMs: 60_000 };

describe('endpoint circuits', () => {
  it('opens after attempts in a row that reach nothing, skips while open, probes one at a time, closes on an answer', () => {
    const c = new EndpointCircuits(options);
    let t = 0;
    const fail = () => {
      const a = c.admit('we_1', t);
      if (a.kind !== 'send') throw new Error(`expected to send, got ${a.kind}`);
      t += 5000;
      c.done('we_1', a.ticket, a.probe, true, t);
    };
    fail();
    fail();
    fail();
    expect(c.admit('we_1', t).kind).toBe('skip');
    expect(c.admit('we_2', t).kind).toBe('send'); // another endpoint is not touched
    t += 15_000;
    const probe = c.admit('we_1', t);
    expect(probe).toMatchObject({ kind: 'send', probe: true });
    expect(c.admit('we_1', t).kind).toBe('skip'); // one probe at a time
    if (probe.kind !== 'send') throw new Error('no probe');
    t += 5000;
    c.done('we_1', probe.ticket, true, true, t);
    // The probe failed: open twice as long.
    t += 29_000;
    expect(c.admit('we_1', t).kind).toBe('skip');
    t += 1_000;
    const second = c.admit('we_1', t);
    if (second.kind !== 'send') throw new Error('no second probe');
    t += 50;
    c.done('we_1', second.ticket, true, false, t);
    expect(c.admit('we_1', t)).toMatchObject({ kind: 'send', probe: false });
  });

  it('attempts still in flight when it opened do not lengthen the open period', () => {
    const c = new EndpointCircuits({ ...options, slowCap: 10 });
    const flying = Array.from({ length: 6 }, () => c.admit('we_1', 0));
    flying.forEach((a, i) => {
      if (a.kind !== 'send') throw new Error('expected to send');
      c.done('we_1', a.ticket, a.probe, true, 5000 + i);
    });
    // Opened at the third failure (5002 + 15 s); the three after it changed nothing.
    expect(c.admit('we_1', 20_001).kind).toBe('skip');
    expect(c.admit('we_1', 20_002)).toMatchObject({ kind: 'send', probe: true });
  });

  it('caps the attempts of a slow endpoint only', () => {
    const c = new EndpointCircuits(options);
    const fast = [c.admit('fast', 0), c.admit('fast', 0), c.admit('fast', 0)];
    expect(fast.every((a) => a.kind === 'send')).toBe(true);
    expect(c.admit('slow', 0).kind).toBe('send');
    expect(c.admit('slow', 0).kind).toBe('send');
    // Two in flight for over a second: it is slow, and at its cap.
    expect(c.admit('slow', 1500).kind).toBe('wait');
    expect(c.admit('fast', 10).kind).toBe('send');
  });
});
