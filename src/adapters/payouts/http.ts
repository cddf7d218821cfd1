import type { Agent } from 'undici';
import { type HttpAnswer, type HttpCall, httpCall } from '../issuers/http.js';
import { IssuerCallError } from '../issuers/port.js';
import type { PayoutAnswer, PayoutProvider } from './port.js';

/**
 * The HTTP leg of the payout adapters, on the issuers' undici client (src/adapters/issuers/http.ts).
 * A payout adapter never throws for provider trouble: no usable answer is the `unknown` state, the
 * one the payouts module must settle by `lookup` (docs/payouts.md).
 */
export type Sent = { ok: true; res: HttpAnswer } | { ok: false; answer: PayoutAnswer<'unknown'> };

/** A payout provider that holds connections: what the registry hands out. */
export interface PayoutAdapter extends PayoutProvider {
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export function unknown(rawCode: string, rawMessage?: string): PayoutAnswer<'unknown'> {
  return { state: 'unknown', rawCode, ...(rawMessage ? { rawMessage } : {}) };
}

/** The caller's signal and the adapter's own deadline, whichever fires first. */
export function deadline(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const own = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, own]) : own;
}

export async function send(agent: Agent, call: HttpCall): Promise<Sent> {
  try {
    return { ok: true, res: await httpCall(agent, call) };
  } catch (err) {
    const kind = err instanceof IssuerCallError ? err.kind : 'connection';
    return { ok: false, answer: unknown(`TRANSPORT_${kind.toUpperCase()}`, (err as Error).message) };
  }
}

/** One header as a string ('' when absent or repeated: a repeated security header is not trusted). */
export function header(headers: HttpAnswer['headers'], name: string): string {
  const v = headers[name.toLowerCase()];
  return typeof v === 'string' ? v : '';
}

/** JSON, or undefined: a garbled answer is a fact to report, not an exception. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
