import { timingSafeEqual } from 'node:crypto';
import { ecardSignature, ecardSigningString } from '../adapters/issuers/rest/signing.js';
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
 * JD E-card style: REST/JSON with HMAC-signed requests (docs/issuers.md). Business answers are HTTP
 * 200 with a `code`; a bad signature is 401, trouble is 503.
 */
export const ECARD_CODES: Record<BookCode, string> = {
  ok: 'SUCCESS',
  not_found: 'CARD_NOT_FOUND',
  wrong_secret: 'PASSWORD_ERROR',
  used: 'CARD_USED',
  expired: 'CARD_EXPIRED',
  unactivated: 'CARD_INACTIVE',
};
export const ECARD_AMBIGUOUS = 'CARD_FROZEN';
export const ECARD_NO_SUCH_ORDER = 'ORDER_NOT_FOUND';
const WINDOW_MS = 5 * 60_000;

export interface EcardSimulatorOptions extends SimulatorOptions {
  port?: number;
  /** app id → secret. */
  apps: Record<string, string>;
}

export async function startEcardSimulator(options: EcardSimulatorOptions): Promise<Simulator> {
  const base = createSimulatorBase(options);
  const { app, book } = base;
  const seenNonces = new Map<string, number>();
  const json = (status: number, body: unknown): Rendered => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.addHook('preValidation', async (req, reply) => {
    if (req.url.startsWith('/__sim/')) {
      if (typeof req.body === 'string' && req.body !== '') req.body = JSON.parse(req.body);
      return;
    }
    const h = (n: string) => (typeof req.headers[n] === 'string' ? (req.headers[n] as string) : '');
    const appId = h('x-app-id');
    const ts = h('x-timestamp');
    const nonce = h('x-nonce');
    const sig = h('x-signature');
    const secret = options.apps[appId];
    const now = Date.now();
    const refuse = (message: string) => reply.code(401).send({ code: 'SIGN_INVALID', message });
    if (!secret) return refuse('unknown app id');
    if (!/^\d{13}$/.test(ts) || Math.abs(now - Number(ts)) > WINDOW_MS)
      return refuse('timestamp outside the window');
    if (!/^[A-Za-z0-9]{16,64}$/.test(nonce) || seenNonces.has(nonce))
      return refuse('nonce missing or reused');
    const expected = ecardSignature(
      secret,
      ecardSigningString(req.method, req.url, ts, nonce, String(req.body ?? '')),
    );
    if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected)))
      return refuse('signature does not match');
    seenNonces.set(nonce, now);
    if (seenNonces.size > 100_000)
      for (const [k, t] of seenNonces) if (now - t > WINDOW_MS) seenNonces.delete(k);
    if (typeof req.body === 'string' && req.body !== '') {
      try {
        req.body = JSON.parse(req.body);
      } catch {
        return reply.code(400).send({ code: 'PARAM_ERROR', message: 'body is not JSON' });
      }
    }
  });

  const rendering = (normal: () => Rendered): CallRendering => ({
    normal,
    error: () => json(503, { code: 'SYSTEM_BUSY', message: 'try later' }),
    ambiguous: () => json(200, { code: ECARD_AMBIGUOUS, message: 'card frozen' }),
  });
  const fields = (body: unknown, names: string[]) => {
    const b = (body ?? {}) as Record<string, unknown>;
    return names.every((n) => typeof b[n] === 'string' && b[n] !== '')
      ? (b as Record<string, string>)
      : undefined;
  };
  const PARAM_ERROR = { code: 'PARAM_ERROR', message: 'missing parameters' };

  app.post('/v2/cards/query', async (req, reply) => {
    const b = fields(req.body, ['card_no', 'card_pwd']);
    if (!b) return reply.code(400).send(PARAM_ERROR);
    return base.answer(
      reply,
      'inquire',
      rendering(() => {
        const r = book.inquire(b.card_no as string, b.card_pwd as string);
        const data =
          r.card && r.code !== 'wrong_secret'
            ? { face_value: r.card.faceValue, balance: r.balance, expire_date: r.card.expiresOn }
            : undefined;
        return json(200, { code: ECARD_CODES[r.code], message: r.code, ...(data ? { data } : {}) });
      }),
    );
  });
  app.post('/v2/cards/redeem', async (req, reply) => {
    const b = fields(req.body, ['card_no', 'card_pwd', 'out_trade_no']);
    if (!b) return reply.code(400).send(PARAM_ERROR);
    return base.answer(
      reply,
      'redeem',
      rendering(() => {
        const r = book.redeem(b.card_no as string, b.card_pwd as string, b.out_trade_no as string);
        return json(200, {
          code: ECARD_CODES[r.code],
          message: r.code,
          ...(r.code === 'ok' ? { data: { out_trade_no: b.out_trade_no, amount: r.amount } } : {}),
        });
      }),
    );
  });
  app.get('/v2/redemptions/:id', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    return base.answer(
      reply,
      'lookup',
      rendering(() => {
        const r = book.lookup(id);
        if (!r) return json(200, { code: ECARD_NO_SUCH_ORDER, message: 'no such redemption' });
        return json(200, {
          code: 'SUCCESS',
          data: { out_trade_no: id, status: 'SUCCESS', amount: r.amount },
        });
      }),
    );
  });
  const url = await listen(app, options.port, options.host);
  return simulatorHandle(base, 'rest', options.issuer, url);
}
