import type { SimOperation } from './faults.js';
import type { BookCode } from './issuer-book.js';
import {
  type CallRendering,
  createSimulatorBase,
  listen,
  type Rendered,
  type Simulator,
  type SimulatorOptions,
  simulatorHandle,
} from './server.js';

/**
 * China Telecom style: JSON-RPC 2.0 over HTTP POST /rpc, card refusals as JSON-RPC error objects with
 * the issuer's codes, batch calls answered as arrays (faults hit a batch as a whole).
 */
export const TELECOM_CODES: Record<Exclude<BookCode, 'ok'>, number> = {
  not_found: 40401,
  wrong_secret: 40301,
  used: 40901,
  expired: 41001,
  unactivated: 41002,
};
export const TELECOM_AMBIGUOUS = 40099;
export const TELECOM_NO_SUCH_ORDER = 40402;

type Id = string | number | null;
interface RpcRequest {
  jsonrpc?: unknown;
  method?: unknown;
  params?: unknown;
  id?: unknown;
}
type RpcResponse = { jsonrpc: '2.0'; id: Id } & (
  | { result: unknown }
  | { error: { code: number; message: string } }
);

const OPS: Record<string, SimOperation> = {
  'card.query': 'inquire',
  'card.recharge': 'redeem',
  'card.queryRecharge': 'lookup',
};

export async function startTelecomSimulator(
  options: SimulatorOptions & { port?: number },
): Promise<Simulator> {
  const base = createSimulatorBase(options);
  const { app, book } = base;
  const json = (body: unknown): Rendered => ({
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  const err = (id: Id, code: number, message: string): RpcResponse => ({
    jsonrpc: '2.0',
    id,
    error: { code, message },
  });
  const ok = (id: Id, result: unknown): RpcResponse => ({ jsonrpc: '2.0', id, result });

  function one(req: RpcRequest, mode: 'normal' | 'ambiguous' | 'error'): RpcResponse | null {
    const id: Id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : null;
    const notification = !('id' in req);
    if (req.jsonrpc !== '2.0' || typeof req.method !== 'string') return err(id, -32600, 'Invalid Request');
    if (!(req.method in OPS)) return err(id, -32601, 'Method not found');
    const p = (req.params ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof p[k] === 'string' && p[k] !== '' ? (p[k] as string) : undefined);
    if (mode === 'error') return err(id, -32603, 'Internal error');
    if (mode === 'ambiguous') return err(id, TELECOM_AMBIGUOUS, 'Card status abnormal');
    let out: RpcResponse;
    switch (req.method) {
      case 'card.query': {
        const cardNo = str('cardNo');
        const pin = str('pin');
        if (!cardNo || !pin) return err(id, -32602, 'Invalid params: cardNo and pin are required');
        const r = book.inquire(cardNo, pin);
        out =
          r.code === 'ok' && r.card
            ? ok(id, {
                status: 'ACTIVE',
                faceValue: r.card.faceValue,
                balance: r.balance,
                expireDate: r.card.expiresOn,
              })
            : err(id, TELECOM_CODES[r.code as Exclude<BookCode, 'ok'>], r.code);
        break;
      }
      case 'card.recharge': {
        const cardNo = str('cardNo');
        const pin = str('pin');
        const orderNo = str('orderNo');
        if (!cardNo || !pin || !orderNo)
          return err(id, -32602, 'Invalid params: cardNo, pin and orderNo are required');
        const r = book.redeem(cardNo, pin, orderNo);
        out =
          r.code === 'ok'
            ? ok(id, { orderNo, state: 'SUCCESS', amount: r.amount })
            : err(id, TELECOM_CODES[r.code as Exclude<BookCode, 'ok'>], r.code);
        break;
      }
      default: {
        const orderNo = str('orderNo');
        if (!orderNo) return err(id, -32602, 'Invalid params: orderNo is required');
        const r = book.lookup(orderNo);
        out = r
          ? ok(id, { orderNo, state: 'SUCCESS', amount: r.amount })
          : err(id, TELECOM_NO_SUCH_ORDER, 'no such order');
      }
    }
    return notification ? null : out;
  }

  app.post('/rpc', async (req, reply) => {
    const body = req.body as unknown;
    const batch = Array.isArray(body);
    const calls = (batch ? body : [body]) as RpcRequest[];
    if (batch && calls.length === 0) return reply.send(err(null, -32600, 'Invalid Request: empty batch'));
    if (calls.some((c) => c === null || typeof c !== 'object'))
      return reply.send(err(null, -32600, 'Invalid Request'));
    const first = calls[0] as RpcRequest;
    const op = OPS[String(first.method)] ?? 'inquire';
    const run = (mode: 'normal' | 'ambiguous' | 'error') => {
      const answers = calls.map((c) => one(c, mode)).filter((a): a is RpcResponse => a !== null);
      if (answers.length === 0) return { status: 204, contentType: 'application/json', body: '' };
      return json(batch ? answers : answers[0]);
    };
    const rendering: CallRendering = {
      normal: () => run('normal'),
      error: () => run('error'),
      ambiguous: () => run('ambiguous'),
    };
    return base.answer(reply, op, rendering);
  });
  // A body that is not JSON is a JSON-RPC parse error, not an HTTP error.
  app.setErrorHandler((error: { statusCode?: number; message?: string }, req, reply) => {
    const status = error.statusCode ?? 500;
    if (req.url.startsWith('/rpc') && (status === 400 || status === 415))
      return reply.code(200).send(err(null, -32700, 'Parse error'));
    return reply.code(status).send({ message: error.message ?? 'error' });
  });
  const url = await listen(app, options.port, options.host);
  return simulatorHandle(base, 'jsonrpc', options.issuer, url);
}
