import { createHash, randomBytes } from 'node:crypto';
import type { UsdtAdapterOptions } from '../adapters/payouts/usdt/adapter.js';
import {
  USDT_ERRORS,
  USDT_NETWORKS,
  type UsdtNetwork,
  validAddress,
} from '../adapters/payouts/usdt/protocol.js';
import {
  createPayoutSimBase,
  listenPayoutSim,
  type PayoutRendering,
  type PayoutSimulator,
  type PayoutSimulatorOptions,
  payoutSimHandle,
} from './payout-base.js';
import type { Rendered } from './server.js';

/**
 * A USDT custody service over JSON-RPC 2.0 (docs/payouts.md#usdt): `transfer` broadcasts once per
 * request_id (the same request again answers the same tx; other parameters → 1002), `get_transfer`
 * tells its confirmations. The simulated chain adds one block per `confirmIntervalMs`, or per block
 * asked for on POST /__sim/mine.
 */
/** Well-formed addresses this service refuses to send to (1005). */
export const USDT_BLACKLISTED = [
  'TBLACKLiSTEDaddressxxxxxxxxxxxxxxx',
  '0x000000000000000000000000000000000000dEaD',
];

export interface UsdtSimulatorOptions extends PayoutSimulatorOptions {
  apiKey?: string;
  /** One block per this many ms; 0 (default) mines only on POST /__sim/mine. */
  confirmIntervalMs?: number;
  blacklisted?: string[];
}

export interface UsdtSimulator extends PayoutSimulator {
  adapterConfig: UsdtAdapterOptions;
  /** Adds `blocks` confirmations to every transfer on the chain. */
  mine(blocks?: number): void;
}

interface Transfer {
  to: string;
  amount: string;
  network: UsdtNetwork;
  txHash: string;
  confirmations: number;
}

export async function startUsdtSimulator(options: UsdtSimulatorOptions = {}): Promise<UsdtSimulator> {
  const base = createPayoutSimBase(options);
  const { app, ledger } = base;
  const apiKey = options.apiKey ?? randomBytes(16).toString('hex');
  const blacklisted = new Set(options.blacklisted ?? USDT_BLACKLISTED);
  const transfers = new Map<string, Transfer>();

  function mine(blocks = 1): void {
    for (const t of transfers.values()) t.confirmations += blocks;
  }
  const timer = options.confirmIntervalMs ? setInterval(() => mine(1), options.confirmIntervalMs) : undefined;
  timer?.unref();

  const reply200 = (id: unknown, body: Record<string, unknown>): Rendered => ({
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({ jsonrpc: '2.0', id, ...body }),
  });
  const error = (id: unknown, code: number, message: string, status = 200): Rendered => ({
    ...reply200(id, { error: { code, message } }),
    status,
  });
  const rendering = (id: unknown, normal: () => Rendered): PayoutRendering => ({
    normal,
    error: () => error(id, -32603, 'Internal error', 500),
    ambiguous: () => error(id, -32000, 'node is syncing, result unknown'),
  });
  const view = (requestId: string, t: Transfer) => ({
    request_id: requestId,
    tx_hash: t.txHash,
    network: t.network,
    confirmations: t.confirmations,
    status: t.confirmations > 0 ? 'confirmed' : 'pending',
  });

  function transfer(id: unknown, requestId: string, p: Record<string, unknown>): Rendered {
    const { to, amount, network } = p as { to: string; amount: string; network: UsdtNetwork };
    const earlier = transfers.get(requestId);
    if (earlier) {
      if (earlier.to !== to || earlier.amount !== amount || earlier.network !== network)
        return error(id, USDT_ERRORS.requestConflict, 'request_id already used with other parameters');
      return reply200(id, { result: view(requestId, earlier) });
    }
    if (!validAddress(network, to)) return error(id, USDT_ERRORS.invalidAddress, `not a ${network} address`);
    if (blacklisted.has(to)) return error(id, USDT_ERRORS.blacklisted, 'address is blacklisted');
    const hex = createHash('sha256')
      .update(`${requestId}:${randomBytes(8).toString('hex')}`)
      .digest('hex');
    const t: Transfer = {
      to,
      amount,
      network,
      txHash: network === 'erc20' ? `0x${hex}` : hex,
      confirmations: 0,
    };
    transfers.set(requestId, t);
    ledger.pay({
      payoutId: requestId,
      amount: Number(amount),
      currency: 'USDT',
      account: to,
      providerRef: t.txHash,
    });
    return reply200(id, { result: view(requestId, t) });
  }

  // The body is optional ({"blocks": n}); checked here because a schema would demand one.
  app.post('/__sim/mine', async (req, reply) => {
    const blocks = (req.body as { blocks?: unknown } | undefined)?.blocks ?? 1;
    if (typeof blocks !== 'number' || !Number.isInteger(blocks) || blocks < 1 || blocks > 1000)
      return reply.code(400).send({ message: 'blocks must be an integer from 1 to 1000' });
    mine(blocks);
    return { mined: blocks };
  });
  app.post('/rpc', async (req, reply) => {
    const send = (r: Rendered) => reply.code(r.status).type(r.contentType).send(r.body);
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return send(error(null, USDT_ERRORS.unauthorized, 'unauthorized', 401));
    const body = req.body as Record<string, unknown> | null;
    if (
      !body ||
      typeof body !== 'object' ||
      Array.isArray(body) ||
      body.jsonrpc !== '2.0' ||
      typeof body.method !== 'string'
    )
      return send(error(null, -32600, 'Invalid Request'));
    const id = body.id ?? null;
    const p = (body.params ?? {}) as Record<string, unknown>;
    const requestId =
      typeof p.request_id === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(p.request_id) ? p.request_id : '';
    if (body.method === 'transfer') {
      const ok =
        requestId &&
        typeof p.to === 'string' &&
        typeof p.amount === 'string' &&
        /^[1-9]\d{0,14}$/.test(p.amount) &&
        (USDT_NETWORKS as readonly unknown[]).includes(p.network);
      if (!ok) return send(error(id, -32602, 'Invalid params: request_id, to, amount (micro-USDT), network'));
      ledger.called(requestId);
      return base.answer(
        reply,
        'pay',
        rendering(id, () => transfer(id, requestId, p)),
      );
    }
    if (body.method === 'get_transfer') {
      if (!requestId) return send(error(id, -32602, 'Invalid params: request_id'));
      return base.answer(
        reply,
        'lookup',
        rendering(id, () => {
          const t = transfers.get(requestId);
          return t
            ? reply200(id, { result: view(requestId, t) })
            : error(id, USDT_ERRORS.notFound, 'no such transfer');
        }),
      );
    }
    return send(error(id, -32601, 'Method not found'));
  });
  // A body that is not JSON is a JSON-RPC parse error, not an HTTP error.
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (req.url === '/rpc' && (status === 400 || status === 415))
      return reply
        .code(200)
        .type('application/json')
        .send(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }));
    return reply.code(status).send({ message: err.message ?? 'error' });
  });
  app.addHook('onClose', async () => clearInterval(timer));

  const url = await listenPayoutSim(base, options);
  return Object.assign(payoutSimHandle(base, 'usdt', url), {
    adapterConfig: { endpoint: `${url}/rpc`, apiKey },
    mine,
  });
}
