import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { HttpSmsOptions } from '../adapters/sms/http.js';
import {
  PHONE,
  SMS_CODES,
  SMS_HEADERS,
  SMS_MAX_SKEW_S,
  SMS_SEND_PATH,
  SMS_STEP_UP_TEMPLATE,
  smsSignatureValid,
} from '../adapters/sms/protocol.js';
import { FaultPatch, type FaultSettings, NO_FAULTS } from './faults.js';
import { answerThroughFaults, type Rendered } from './server.js';

/**
 * A template SMS gateway (docs/sms.md, src/adapters/sms/protocol.ts) as a real HTTP server: it checks
 * the key, timestamp and HMAC signature over the raw body, renders the template, keeps one message per
 * reference, and RECORDS every message so tests and the demo read the code that was "sent":
 * `GET /__sim/messages?to=<phone>` (newest last). Fault switches as the other simulators (`send`).
 */
export interface SmsSimulatorOptions {
  keyId?: string;
  secret?: string;
  /** Templates and their text; `{content}` etc. are replaced by the parameters. */
  templates?: Record<string, string>;
  faults?: Partial<FaultSettings>;
  random?: () => number;
  host?: string;
  port?: number;
  /** Unix seconds (tests shift it). */
  now?: () => number;
}

export interface SentSms {
  messageId: string;
  to: string;
  templateCode: string;
  params: Record<string, string>;
  /** The rendered text, as the handset would show it. */
  text: string;
  reference: string;
  at: string;
}

export interface SmsSimulator {
  url: string;
  /** What `createHttpSmsSender` needs. */
  adapterConfig: HttpSmsOptions;
  readonly faults: FaultSettings;
  setFaults(patch: FaultPatch): void;
  /** Recorded messages, oldest first; only those to `to` when given. */
  messages(to?: string): SentSms[];
  /** The last 4–8 digit run in the newest message to `to` (a step-up code), or null. */
  lastCode(to: string): string | null;
  /** Requests refused for their signature, key or timestamp. */
  refusedSignatures(): number;
  close(): Promise<void>;
}

export const SIM_SMS_TEMPLATES: Record<string, string> = {
  [SMS_STEP_UP_TEMPLATE]: '【Recard】{content}',
};

export function codeIn(text: string): string | null {
  const runs = text.match(/\d{4,8}/g);
  return runs ? (runs[runs.length - 1] as string) : null;
}

export async function startSmsSimulator(options: SmsSimulatorOptions = {}): Promise<SmsSimulator> {
  const keyId = options.keyId ?? 'recard';
  const secret = options.secret ?? randomBytes(24).toString('base64url');
  const templates = options.templates ?? SIM_SMS_TEMPLATES;
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const settings = { faults: { ...NO_FAULTS, ...options.faults } };
  const sent: SentSms[] = [];
  const byReference = new Map<string, SentSms>();
  let refused = 0;
  let n = 0;

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  // The signature is over the raw bytes: keep them as a string and parse after checking.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (req.url === SMS_SEND_PATH) return done(null, body);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(Object.assign(new Error('body is not JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.get('/__sim/faults', async () => settings.faults);
  app.put('/__sim/faults', { schema: { body: FaultPatch } }, async (req) => {
    settings.faults = { ...settings.faults, ...(req.body as FaultPatch) };
    return settings.faults;
  });
  app.get('/__sim/messages', async (req) => {
    const to = (req.query as { to?: unknown }).to;
    const list = typeof to === 'string' ? sent.filter((m) => m.to === to) : sent;
    return { messages: list };
  });

  const json = (status: number, body: Record<string, unknown>): Rendered => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(body),
  });
  const error = (status: number, code: string, message: string) => json(status, { code, message });

  app.post(SMS_SEND_PATH, async (req, reply) => {
    const out = (r: Rendered) => reply.code(r.status).type(r.contentType).send(r.body);
    const raw = typeof req.body === 'string' ? req.body : '';
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const ts = header(SMS_HEADERS.timestamp);
    if (header(SMS_HEADERS.keyId) !== keyId) {
      refused++;
      return out(error(401, SMS_CODES.keyUnknown, 'unknown key id'));
    }
    if (!/^\d{1,12}$/.test(ts) || Math.abs(now() - Number(ts)) > SMS_MAX_SKEW_S) {
      refused++;
      return out(
        error(401, SMS_CODES.timestampSkewed, `timestamp missing or more than ${SMS_MAX_SKEW_S} s off`),
      );
    }
    if (!smsSignatureValid(secret, keyId, ts, raw, header(SMS_HEADERS.signature))) {
      refused++;
      return out(error(401, SMS_CODES.signatureInvalid, 'signature does not verify'));
    }
    let body: Record<string, unknown>;
    try {
      const v = JSON.parse(raw) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      body = v as Record<string, unknown>;
    } catch {
      return out(error(400, SMS_CODES.invalidRequest, 'body is not a JSON object'));
    }
    const { to, template_code: templateCode, template_params: params, reference } = body;
    if (typeof reference !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(reference))
      return out(error(400, SMS_CODES.invalidRequest, 'reference: 1-64 of [A-Za-z0-9_.:-]'));
    if (typeof to !== 'string' || !PHONE.test(to))
      return out(error(400, SMS_CODES.invalidPhone, 'to: not an E.164 number'));
    const template = typeof templateCode === 'string' ? templates[templateCode] : undefined;
    if (template === undefined)
      return out(error(400, SMS_CODES.templateUnknown, 'template_code: not approved'));
    if (
      typeof params !== 'object' ||
      params === null ||
      Array.isArray(params) ||
      !Object.values(params).every((v) => typeof v === 'string' && v.length <= 500)
    )
      return out(error(400, SMS_CODES.invalidRequest, 'template_params: an object of strings'));
    const p = params as Record<string, string>;
    const text = template.replace(/\{(\w+)\}/g, (_m, k: string) => p[k] ?? '');

    return answerThroughFaults(
      reply,
      settings.faults,
      'send',
      {
        normal() {
          const earlier = byReference.get(reference);
          if (earlier) {
            if (earlier.to !== to || earlier.text !== text)
              return error(409, SMS_CODES.referenceConflict, 'reference already used for another message');
            return json(200, { code: SMS_CODES.ok, message_id: earlier.messageId });
          }
          n++;
          const m: SentSms = {
            messageId: `sms_${String(n).padStart(6, '0')}_${randomBytes(4).toString('hex')}`,
            to,
            templateCode: templateCode as string,
            params: p,
            text,
            reference,
            at: new Date(now() * 1000).toISOString(),
          };
          sent.push(m);
          byReference.set(reference, m);
          return json(200, { code: SMS_CODES.ok, message_id: m.messageId });
        },
        error: () => error(503, SMS_CODES.internal, 'gateway busy'),
        ambiguous: () => error(429, SMS_CODES.throttled, 'too many messages, try later'),
      },
      random,
      'send',
    );
  });

  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('simulator has no TCP address');
  const url = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  const messages = (to?: string) => (to === undefined ? [...sent] : sent.filter((m) => m.to === to));
  return {
    url,
    adapterConfig: { url, keyId, secret },
    get faults() {
      return settings.faults;
    },
    setFaults(patch) {
      settings.faults = { ...settings.faults, ...patch };
    },
    messages,
    lastCode(to) {
      const last = messages(to).at(-1);
      return last ? codeIn(last.text) : null;
    },
    refusedSignatures: () => refused,
    close: () => app.close(),
  };
}
