import { createAgent, httpCall } from '../issuers/http.js';
import { IssuerCallError } from '../issuers/port.js';
import { maskPhone, type SmsResult, type SmsSender } from './port.js';
import { PHONE, SMS_HEADERS, SMS_SEND_PATH, SMS_STEP_UP_TEMPLATE, smsSignature } from './protocol.js';

export interface HttpSmsOptions {
  /** The gateway's base URL, e.g. https://sms.example (the adapter posts to /v1/sms/send). */
  url: string;
  keyId: string;
  /** HMAC key. Never logged. */
  secret: string;
  /** Approved template whose one parameter `content` is the message text. */
  templateCode?: string;
  timeoutMs?: number;
  /** Unix seconds (tests shift it). */
  now?: () => number;
}

/** An SMS sender that holds connections. */
export interface SmsAdapter extends SmsSender {
  close(): Promise<void>;
}

export const SMS_ADAPTER_CODES = {
  badNumber: 'INVALID_PHONE',
  malformed: 'ANSWER_MALFORMED',
} as const;
export const DEFAULT_SMS_TIMEOUT_MS = 5_000;

const fail = (retryable: boolean, code: string, message: string): SmsResult => ({
  ok: false,
  retryable,
  code,
  message,
});

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The template SMS gateway over HTTP (protocol.ts, docs/sms.md), on the issuers' undici client.
 * Never throws for gateway trouble; errors name the number masked and never the text.
 */
export function createHttpSmsSender(options: HttpSmsOptions): SmsAdapter {
  const agent = createAgent(8);
  const url = `${options.url.replace(/\/+$/, '')}${SMS_SEND_PATH}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SMS_TIMEOUT_MS;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const template = options.templateCode ?? SMS_STEP_UP_TEMPLATE;

  return {
    async send(message) {
      const to = maskPhone(message.to);
      if (!PHONE.test(message.to))
        return fail(false, SMS_ADAPTER_CODES.badNumber, `not an E.164 number: ${to}`);
      const body = JSON.stringify({
        to: message.to,
        template_code: template,
        template_params: { content: message.text },
        reference: message.reference,
      });
      const timestamp = String(now());
      let res: Awaited<ReturnType<typeof httpCall>>;
      try {
        res = await httpCall(agent, {
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/json',
            [SMS_HEADERS.keyId]: options.keyId,
            [SMS_HEADERS.timestamp]: timestamp,
            [SMS_HEADERS.signature]: smsSignature(options.secret, options.keyId, timestamp, body),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const kind = err instanceof IssuerCallError ? err.kind : 'connection';
        return fail(true, `TRANSPORT_${kind.toUpperCase()}`, `SMS to ${to}: ${(err as Error).message}`);
      }
      const answer = parse(res.text);
      const code =
        typeof answer?.code === 'string' && answer.code !== '' ? answer.code : `HTTP_${res.status}`;
      const said = typeof answer?.message === 'string' ? `: ${answer.message.slice(0, 200)}` : '';
      if (res.status >= 500 || res.status === 429)
        return fail(true, code, `SMS gateway HTTP ${res.status} for ${to}${said}`);
      if (res.status >= 400)
        return fail(false, code, `SMS gateway refused (HTTP ${res.status}) ${to}${said}`);
      if (res.status !== 200 || !answer || answer.code !== 'OK' || typeof answer.message_id !== 'string')
        // It may have been sent: the same reference again is safe (the gateway keeps one message per reference).
        return fail(
          true,
          SMS_ADAPTER_CODES.malformed,
          `SMS gateway answer for ${to} unreadable (HTTP ${res.status})`,
        );
      return { ok: true, messageId: answer.message_id };
    },
    close: () => agent.close(),
  };
}

/** The configured sender, or null when RECARD_SMS_URL / RECARD_SMS_KEY are unset (no step-up SMS). */
export function smsSenderFromConfig(config: {
  smsUrl?: string | undefined;
  smsKeyId: string;
  smsKey?: string | undefined;
}): SmsAdapter | null {
  if (!config.smsUrl || !config.smsKey) return null;
  return createHttpSmsSender({ url: config.smsUrl, keyId: config.smsKeyId, secret: config.smsKey });
}
