import { expect } from 'vitest';
import type { TestServer } from './server.js';

export interface Refusal {
  status: number;
  code: string;
  field?: string;
  /** A signed call refused after authentication has spent its nonce; that row may be new. */
  nonceSpent?: boolean;
}

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Makes the call and asserts a refusal as the API promises it: the status, the one error body with its
 * stable code (and field), a request id matching the X-Request-Id header — and that nothing was written.
 */
export async function expectRefusal<A extends Answer>(
  t: TestServer,
  call: () => Promise<A>,
  r: Refusal,
): Promise<A> {
  const before = await t.counts();
  const res = await call();
  const body = res.body as {
    error?: { code?: string; field?: string; message?: unknown; request_id?: string };
  };
  expect(res.status, JSON.stringify(res.body)).toBe(r.status);
  expect(Object.keys(body ?? {})).toEqual(['error']);
  expect(body.error?.code).toBe(r.code);
  expect(typeof body.error?.message).toBe('string');
  expect(body.error?.request_id).toBe(res.headers.get('x-request-id'));
  if (r.field !== undefined) expect(body.error?.field).toBe(r.field);
  const after = await t.counts();
  if (r.nonceSpent) {
    before.request_nonces = 0;
    after.request_nonces = 0;
  }
  const changed = Object.keys(after).filter(
    (k) => (after as Record<string, number>)[k] !== (before as Record<string, number>)[k],
  );
  expect(
    after,
    `rows changed by a refusal: ${changed.map((k) => `${k} ${before[k]} → ${after[k]}`).join(', ')}`,
  ).toEqual(before);
  return res;
}
