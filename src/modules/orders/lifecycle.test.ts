import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowedEvents,
  holdsCard,
  INITIAL_STATUS,
  isFinal,
  ORDER_EVENTS,
  ORDER_STATUSES,
  type OrderEvent,
  type OrderStatus,
  transition,
} from './lifecycle.js';

/** docs/architecture.md#the-order-lifecycle written out edge by edge, independently of the table in lifecycle.ts. */
const DESIGN_EDGES: [OrderStatus, OrderEvent, OrderStatus][] = [
  ['submitted', 'start_verification', 'verifying'],
  ['submitted', 'reject', 'rejected'],
  ['submitted', 'freeze', 'frozen'],
  ['submitted', 'hold_for_review', 'review'],
  ['verifying', 'redeem', 'redeemed'],
  ['verifying', 'freeze', 'frozen'],
  ['verifying', 'reject', 'rejected'],
  ['verifying', 'hold_for_review', 'review'],
  ['verifying', 'issuer_refused', 'invalid'],
  ['verifying', 'give_up', 'failed'],
  ['review', 'approve', 'redeemed'],
  ['review', 'resume', 'verifying'],
  ['review', 'reject', 'rejected'],
  ['frozen', 'release', 'review'],
  ['frozen', 'reject', 'rejected'],
  ['redeemed', 'settle', 'settled'],
  ['settled', 'pay', 'paid'],
];

describe('order lifecycle', () => {
  it('accepts exactly the transitions of the design, and refuses every other pair', () => {
    for (const from of ORDER_STATUSES) {
      for (const event of ORDER_EVENTS) {
        const edge = DESIGN_EDGES.find(([f, e]) => f === from && e === event);
        const result = transition(from, event);
        if (edge) expect(result).toEqual({ ok: true, from, event, to: edge[2] });
        else expect(result.ok, `${from} --${event}-->`).toBe(false);
      }
    }
  });

  it('random event sequences never reach a state outside the machine, and refusals change nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ORDER_EVENTS), { maxLength: 40 }), (events) => {
        let state: OrderStatus = INITIAL_STATUS;
        const history: OrderStatus[] = [state];
        for (const event of events) {
          const before = state;
          const result = transition(state, event);
          if (result.ok) {
            expect(DESIGN_EDGES).toContainEqual([before, event, result.to]);
            state = result.to;
            history.push(state);
          } else {
            expect(result.reason.length).toBeGreaterThan(0);
            expect(state).toBe(before);
          }
          expect(ORDER_STATUSES).toContain(state);
        }
        // Once final, always final; money states are only reached through redemption.
        const finalAt = history.findIndex(isFinal);
        if (finalAt >= 0) expect(history.length - 1).toBe(finalAt);
        if (history.includes('settled')) expect(history).toContain('redeemed');
        if (history.includes('paid'))
          expect(history.indexOf('settled')).toBeLessThan(history.indexOf('paid'));
      }),
      { numRuns: 2000 },
    );
  });

  it('every status is reachable from submitted, and every non-final one can still end', () => {
    const reachable = new Set<OrderStatus>([INITIAL_STATUS]);
    const queue: OrderStatus[] = [INITIAL_STATUS];
    while (queue.length > 0) {
      const s = queue.shift() as OrderStatus;
      for (const e of allowedEvents(s)) {
        const r = transition(s, e);
        if (r.ok && !reachable.has(r.to)) {
          reachable.add(r.to);
          queue.push(r.to);
        }
      }
    }
    expect([...reachable].sort()).toEqual([...ORDER_STATUSES].sort());
    expect(ORDER_STATUSES.filter(isFinal).sort()).toEqual(['failed', 'invalid', 'paid', 'rejected']);
  });

  it('only refusals and failures release the card for another submission', () => {
    expect(ORDER_STATUSES.filter((s) => !holdsCard(s)).sort()).toEqual(['failed', 'invalid', 'rejected']);
  });
});
