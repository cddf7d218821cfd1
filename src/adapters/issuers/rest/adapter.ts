import { randomBytes } from 'node:crypto';
import { amountOf, createAgent, httpCall, statusError } from '../http.js';
import {
  type CallOptions,
  type Inquiry,
  type IssuerAdapter,
  IssuerCallError,
  type LookupResult,
} from '../port.js';
import { ecardSignature, ecardSigningString } from './signing.js';

export interface RestAdapterOptions {
  /** Base URL, e.g. https://ecard.example */
  endpoint: string;
  appId: string;
  appSecret: string;
}

export const REST_SUCCESS = 'SUCCESS';
const NO_SUCH_ORDER = 'ORDER_NOT_FOUND';

/** Signed REST/JSON (JD E-card style). Signing and codes: docs/issuers.md. */
export function createRestAdapter(options: RestAdapterOptions): IssuerAdapter {
  const agent = createAgent();
  const base = options.endpoint.replace(/\/+$/, '');

  async function call(method: 'GET' | 'POST', path: string, body: unknown, opts: CallOptions = {}) {
    const text = body === undefined ? '' : JSON.stringify(body);
    const timestamp = String(Date.now());
    const nonce = randomBytes(16).toString('hex');
    const signature = ecardSignature(
      options.appSecret,
      ecardSigningString(method, path, timestamp, nonce, text),
    );
    const res = await httpCall(agent, {
      method,
      url: `${base}${path}`,
      headers: {
        'x-app-id': options.appId,
        'x-timestamp': timestamp,
        'x-nonce': nonce,
        'x-signature': signature,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: text }),
      signal: opts.signal,
    });
    if (res.status !== 200) {
      const err = statusError(res.status, `${method} ${path}`);
      let code: string | undefined;
      try {
        code = (JSON.parse(res.text) as { code?: string }).code;
      } catch {
        code = undefined;
      }
      throw code ? new IssuerCallError(err.kind, `${err.message} ${code}`, code) : err;
    }
    let parsed: { code?: unknown; message?: unknown; data?: unknown };
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new IssuerCallError('malformed', `${method} ${path}: answer is not JSON`);
    }
    if (typeof parsed?.code !== 'string' || parsed.code === '')
      throw new IssuerCallError('malformed', `${method} ${path}: answer has no code`);
    const data =
      parsed.data && typeof parsed.data === 'object' ? (parsed.data as Record<string, unknown>) : {};
    return {
      code: parsed.code,
      message: typeof parsed.message === 'string' ? parsed.message : undefined,
      data,
    };
  }

  return {
    protocol: 'rest',
    async inquire(card, opts): Promise<Inquiry> {
      const r = await call('POST', '/v2/cards/query', { card_no: card.number, card_pwd: card.secret }, opts);
      const faceValue = amountOf(r.data.face_value, 'face_value');
      const balance = amountOf(r.data.balance, 'balance');
      return {
        rawCode: r.code,
        ...(r.message ? { rawMessage: r.message } : {}),
        ...(faceValue !== undefined ? { faceValue } : {}),
        ...(balance !== undefined ? { balance } : {}),
        ...(typeof r.data.expire_date === 'string' ? { expiresOn: r.data.expire_date } : {}),
      };
    },
    async redeem(card, redemptionId, opts) {
      const r = await call(
        'POST',
        '/v2/cards/redeem',
        { card_no: card.number, card_pwd: card.secret, out_trade_no: redemptionId },
        opts,
      );
      const amount = amountOf(r.data.amount, 'amount');
      return { outcome: 'done', rawCode: r.code, ...(amount !== undefined ? { amount } : {}) };
    },
    async lookup(redemptionId, _card, opts): Promise<LookupResult> {
      const r = await call('GET', `/v2/redemptions/${encodeURIComponent(redemptionId)}`, undefined, opts);
      if (r.code === REST_SUCCESS && r.data.status === 'SUCCESS') {
        const amount = amountOf(r.data.amount, 'amount');
        return { state: 'redeemed', rawCode: r.code, ...(amount !== undefined ? { amount } : {}) };
      }
      if (r.code === NO_SUCH_ORDER) return { state: 'not_redeemed', rawCode: r.code };
      throw new IssuerCallError('unavailable', `redemption lookup answered ${r.code}`, r.code);
    },
    close: () => agent.close(),
  };
}
