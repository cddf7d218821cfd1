import { amountOf, createAgent } from '../http.js';
import {
  type CallOptions,
  type Inquiry,
  type IssuerAdapter,
  IssuerCallError,
  type IssuerCard,
  type LookupResult,
} from '../port.js';
import { JsonRpcClient } from './client.js';

export interface JsonRpcAdapterOptions {
  /** e.g. http://telecom.example/rpc */
  endpoint: string;
}

/** Success is a result (raw code "0"); a card refusal is an error object whose code is the raw code. */
export const JSONRPC_SUCCESS = '0';
const NO_SUCH_ORDER = 40402;

export interface JsonRpcIssuerAdapter extends IssuerAdapter {
  /** Several lookups in one JSON-RPC batch request. */
  lookupMany(redemptionIds: string[], options?: CallOptions): Promise<LookupResult[]>;
}

/** JSON-RPC 2.0 (China Telecom style). Codes: docs/issuers.md. */
export function createJsonRpcAdapter(options: JsonRpcAdapterOptions): JsonRpcIssuerAdapter {
  const agent = createAgent();
  const rpc = new JsonRpcClient(agent, options.endpoint);
  const record = (v: unknown): Record<string, unknown> => {
    if (!v || typeof v !== 'object')
      throw new IssuerCallError('malformed', 'JSON-RPC result is not an object');
    return v as Record<string, unknown>;
  };
  const toLookup = (o: Awaited<ReturnType<JsonRpcClient['call']>>): LookupResult => {
    if (o.ok) {
      const r = record(o.result);
      if (r.state !== 'SUCCESS')
        throw new IssuerCallError('unavailable', `recharge state ${String(r.state)}`);
      const amount = amountOf(r.amount, 'amount');
      return { state: 'redeemed', rawCode: JSONRPC_SUCCESS, ...(amount !== undefined ? { amount } : {}) };
    }
    if (o.code === NO_SUCH_ORDER) return { state: 'not_redeemed', rawCode: String(o.code) };
    throw new IssuerCallError('unavailable', `card.queryRecharge answered ${o.code}`, String(o.code));
  };

  return {
    protocol: 'jsonrpc',
    async inquire(card: IssuerCard, opts?: CallOptions): Promise<Inquiry> {
      const o = await rpc.call('card.query', { cardNo: card.number, pin: card.secret }, opts?.signal);
      if (!o.ok) return { rawCode: String(o.code), rawMessage: o.message };
      const r = record(o.result);
      const faceValue = amountOf(r.faceValue, 'faceValue');
      const balance = amountOf(r.balance, 'balance');
      return {
        rawCode: JSONRPC_SUCCESS,
        ...(faceValue !== undefined ? { faceValue } : {}),
        ...(balance !== undefined ? { balance } : {}),
        ...(typeof r.expireDate === 'string' ? { expiresOn: r.expireDate } : {}),
      };
    },
    async redeem(card, redemptionId, opts) {
      const o = await rpc.call(
        'card.recharge',
        { cardNo: card.number, pin: card.secret, orderNo: redemptionId },
        opts?.signal,
      );
      if (!o.ok) return { outcome: 'done', rawCode: String(o.code), rawMessage: o.message };
      const amount = amountOf(record(o.result).amount, 'amount');
      return { outcome: 'done', rawCode: JSONRPC_SUCCESS, ...(amount !== undefined ? { amount } : {}) };
    },
    async lookup(redemptionId, _card, opts) {
      return toLookup(await rpc.call('card.queryRecharge', { orderNo: redemptionId }, opts?.signal));
    },
    async lookupMany(redemptionIds, opts) {
      const outcomes = await rpc.batch(
        redemptionIds.map((orderNo) => ({ method: 'card.queryRecharge', params: { orderNo } })),
        opts?.signal,
      );
      return outcomes.map(toLookup);
    },
    close: () => agent.close(),
  };
}
