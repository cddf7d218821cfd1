import type { Agent } from 'undici';
import { httpCall, statusError } from '../http.js';
import { IssuerCallError } from '../port.js';

/** A JSON-RPC 2.0 client over HTTP POST: single calls and batches. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; code: number; message: string };

/** JSON-RPC's own error codes: the request was wrong (ours to fix) or the server failed (transient). */
const REQUEST_ERRORS = new Set([-32700, -32600, -32601, -32602]);
const isServerError = (code: number) => code === -32603 || (code <= -32000 && code >= -32099);

export class JsonRpcClient {
  private nextId = 1;
  constructor(
    private readonly agent: Agent,
    private readonly endpoint: string,
  ) {}

  async call(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<RpcOutcome> {
    const [only] = await this.batch([{ method, params }], signal, false);
    return only as RpcOutcome;
  }

  /** Sends several calls in one request; answers come back in call order whatever the server's order. */
  async batch(
    calls: { method: string; params: Record<string, unknown> }[],
    signal?: AbortSignal,
    asArray = true,
  ): Promise<RpcOutcome[]> {
    const requests = calls.map((c) => ({
      jsonrpc: '2.0',
      id: this.nextId++,
      method: c.method,
      params: c.params,
    }));
    const res = await httpCall(this.agent, {
      method: 'POST',
      url: this.endpoint,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(asArray ? requests : requests[0]),
      signal,
    });
    if (res.status !== 200) throw statusError(res.status, 'JSON-RPC');
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new IssuerCallError('malformed', 'JSON-RPC answer is not JSON');
    }
    const answers = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
    const byId = new Map<unknown, Record<string, unknown>>();
    for (const a of answers) {
      if (!a || typeof a !== 'object' || a.jsonrpc !== '2.0')
        throw new IssuerCallError('malformed', 'not a JSON-RPC 2.0 answer');
      // An answer with a null id is an error about the whole request (parse error, invalid request).
      if (a.id === null && a.error) throw this.requestError(a.error as { code?: unknown; message?: unknown });
      byId.set(a.id, a);
    }
    return requests.map((r) => {
      const a = byId.get(r.id);
      if (!a) throw new IssuerCallError('malformed', `JSON-RPC answer lacks id ${r.id}`);
      if ('result' in a) return { ok: true, result: a.result };
      const e = a.error as { code?: unknown; message?: unknown } | undefined;
      if (!e || typeof e.code !== 'number')
        throw new IssuerCallError('malformed', 'JSON-RPC answer has neither result nor error');
      if (REQUEST_ERRORS.has(e.code) || isServerError(e.code)) throw this.requestError(e);
      return { ok: false, code: e.code, message: String(e.message ?? '') };
    });
  }

  private requestError(e: { code?: unknown; message?: unknown }): IssuerCallError {
    const code = typeof e.code === 'number' ? e.code : 0;
    const kind = isServerError(code) ? 'unavailable' : 'rejected';
    return new IssuerCallError(kind, `JSON-RPC error ${code}: ${String(e.message ?? '')}`, String(code));
  }
}
