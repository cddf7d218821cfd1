import { createAgent } from '../../issuers/http.js';
import { minorUnitsString } from '../amounts.js';
import {
  DEFAULT_TIMEOUT_MS,
  deadline,
  isRecord,
  type PayoutAdapter,
  parseJson,
  send,
  unknown,
} from '../http.js';
import type { LookupState, PayoutAnswer } from '../port.js';
import { PREFLIGHT_CODES, refuseBeforeSending } from '../preflight.js';
import { USDT_ERRORS } from './protocol.js';

export interface UsdtAdapterOptions {
  /** The service's JSON-RPC endpoint, e.g. https://usdt.example/rpc */
  endpoint: string;
  /** Bearer token. Never logged. */
  apiKey: string;
  /** Confirmations after which a transfer counts as paid (default 12). */
  confirmations?: number;
  timeoutMs?: number;
}

export const USDT_ADAPTER_CODES = {
  malformed: 'ANSWER_MALFORMED',
  otherPayout: 'ANSWER_FOR_ANOTHER_PAYOUT',
  broadcast: 'BROADCAST',
} as const;

/** Errors that say the transfer was refused and never broadcast: nothing will be paid under this id. */
const REFUSED = new Set<number>([
  -32700,
  -32600,
  -32601,
  -32602,
  USDT_ERRORS.unauthorized,
  USDT_ERRORS.invalidAddress,
  USDT_ERRORS.insufficientBalance,
  USDT_ERRORS.blacklisted,
]);

type Rpc =
  | { result: Record<string, unknown> }
  | { error: { code: number; message: string } }
  | { answer: PayoutAnswer<'unknown'> };

/** USDT transfers through a custody service's JSON-RPC API; paid once confirmed deep enough. */
export function createUsdtAdapter(options: UsdtAdapterOptions): PayoutAdapter {
  const agent = createAgent(16);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const needed = options.confirmations ?? 12;
  let nextId = 1;

  async function rpc(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<Rpc> {
    const id = nextId++;
    const sent = await send(agent, {
      method: 'POST',
      url: options.endpoint,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
      signal: deadline(timeoutMs, signal),
    });
    if (!sent.ok) return { answer: sent.answer };
    const body = parseJson(sent.res.text);
    if (
      isRecord(body) &&
      body.jsonrpc === '2.0' &&
      isRecord(body.error) &&
      typeof body.error.code === 'number'
    )
      return { error: { code: body.error.code, message: String(body.error.message ?? '') } };
    if (sent.res.status !== 200) return { answer: unknown(`HTTP_${sent.res.status}`) };
    if (!isRecord(body) || body.jsonrpc !== '2.0' || body.id !== id || !isRecord(body.result))
      return { answer: unknown(USDT_ADAPTER_CODES.malformed) };
    return { result: body.result };
  }

  const errorCode = (e: { code: number; message: string }) => ({
    rawCode: String(e.code),
    ...(e.message ? { rawMessage: e.message } : {}),
  });

  return {
    name: 'usdt',
    kinds: ['usdt'],
    async pay(payoutId, destination, amount, signal): Promise<PayoutAnswer> {
      const refused = refuseBeforeSending('usdt', 'USDT', destination, amount);
      if (refused || !destination.network)
        return refused ?? { state: 'failed', rawCode: PREFLIGHT_CODES.network };
      const r = await rpc(
        'transfer',
        {
          request_id: payoutId,
          to: destination.account,
          amount: minorUnitsString(amount.amount),
          network: destination.network,
        },
        signal,
      );
      if ('answer' in r) return r.answer;
      if ('error' in r)
        return { state: REFUSED.has(r.error.code) ? 'failed' : 'unknown', ...errorCode(r.error) };
      if (typeof r.result.tx_hash !== 'string' || r.result.tx_hash === '')
        return unknown(USDT_ADAPTER_CODES.malformed, 'no tx_hash');
      // Broadcast is not paid: a transfer counts once it is buried `needed` blocks deep (lookup).
      return {
        state: 'accepted',
        rawCode: USDT_ADAPTER_CODES.broadcast,
        providerRef: r.result.tx_hash,
        confirmations: 0,
      };
    },
    async lookup(payoutId, signal): Promise<PayoutAnswer<LookupState>> {
      const r = await rpc('get_transfer', { request_id: payoutId }, signal);
      if ('answer' in r) return r.answer;
      if ('error' in r)
        return {
          state: r.error.code === USDT_ERRORS.notFound ? 'not_found' : 'unknown',
          ...errorCode(r.error),
        };
      const { tx_hash, confirmations, status, request_id } = r.result;
      if (request_id !== payoutId) return unknown(USDT_ADAPTER_CODES.otherPayout);
      if (
        typeof tx_hash !== 'string' ||
        typeof confirmations !== 'number' ||
        !Number.isSafeInteger(confirmations)
      )
        return unknown(USDT_ADAPTER_CODES.malformed);
      const common = { rawCode: String(status), providerRef: tx_hash, confirmations };
      if (status === 'failed') return { state: 'failed', ...common };
      if (status !== 'pending' && status !== 'confirmed') return { state: 'unknown', ...common };
      return { state: status === 'confirmed' && confirmations >= needed ? 'paid' : 'accepted', ...common };
    },
    close: () => agent.close(),
  };
}
