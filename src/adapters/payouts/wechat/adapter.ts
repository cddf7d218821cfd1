import { randomBytes } from 'node:crypto';
import { createAgent } from '../../issuers/http.js';
import {
  DEFAULT_TIMEOUT_MS,
  deadline,
  header,
  isRecord,
  type PayoutAdapter,
  parseJson,
  send,
  unknown,
} from '../http.js';
import type { LookupState, PayoutAnswer } from '../port.js';
import { refuseBeforeSending } from '../preflight.js';
import { rsaSign, rsaVerify } from '../rsa.js';
import { answerMessage, authorizationHeader, billPath, requestMessage, TRANSFER_PATH } from './crypto.js';
import { wechatBillState } from './states.js';

export { type NotificationCheck, type NotificationKeys, verifyNotification } from './notification.js';

export interface WechatAdapterOptions {
  /** e.g. https://api.mch.weixin.qq.com */
  endpoint: string;
  mchid: string;
  appid: string;
  /** PEM; signs every request. Never logged. */
  merchantPrivateKey: string;
  /** Serial number of the merchant certificate the private key belongs to. */
  merchantSerialNo: string;
  /** PEM; every answer must verify against it before it is believed. */
  platformPublicKey: string;
  /** When given, answers must name this platform key in Wechatpay-Serial. */
  platformSerialNo?: string;
  /** Where WeChat posts the bill's final state (verify with `verifyNotification`). */
  notifyUrl?: string;
  transferSceneId?: string;
  timeoutMs?: number;
  /** How old a signed answer may be, in seconds. */
  maxSkewS?: number;
}

export const WECHAT_ADAPTER_CODES = {
  badSignature: 'ANSWER_SIGNATURE_INVALID',
  malformed: 'ANSWER_MALFORMED',
  otherPayout: 'ANSWER_FOR_ANOTHER_PAYOUT',
} as const;

/** Error codes that say the request was refused and nothing was or will be paid under this id. */
const REFUSED = new Set([
  'PARAM_ERROR',
  'INVALID_REQUEST',
  'NO_AUTH',
  'NOT_ENOUGH',
  'SIGN_ERROR',
  'APPID_MCHID_NOT_MATCH',
]);

/** WeChat-Pay-v3-style merchant transfer to a user's openid (transfer-bills), RSA-signed both ways. */
export function createWechatAdapter(options: WechatAdapterOptions): PayoutAdapter {
  const agent = createAgent(16);
  const base = options.endpoint.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxSkewS = options.maxSkewS ?? 300;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<{ status: number; json: Record<string, unknown> } | { answer: PayoutAnswer<'unknown'> }> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex').toUpperCase();
    const signature = rsaSign(
      options.merchantPrivateKey,
      requestMessage(method, path, timestamp, nonce, text),
    );
    const sent = await send(agent, {
      method,
      url: `${base}${path}`,
      headers: {
        authorization: authorizationHeader({
          mchid: options.mchid,
          nonce_str: nonce,
          signature,
          timestamp,
          serial_no: options.merchantSerialNo,
        }),
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: text }),
      signal: deadline(timeoutMs, signal),
    });
    if (!sent.ok) return { answer: sent.answer };
    const { res } = sent;
    // Nothing is believed before its signature: a 404 "not found" could be forged as easily as a 200.
    const ts = header(res.headers, 'wechatpay-timestamp');
    const sig = header(res.headers, 'wechatpay-signature');
    const serial = header(res.headers, 'wechatpay-serial');
    const signedOk =
      /^\d{1,12}$/.test(ts) &&
      Math.abs(Date.now() / 1000 - Number(ts)) <= maxSkewS &&
      (options.platformSerialNo === undefined || serial === options.platformSerialNo) &&
      rsaVerify(
        options.platformPublicKey,
        answerMessage(ts, header(res.headers, 'wechatpay-nonce'), res.text),
        sig,
      );
    if (!signedOk) return { answer: unknown(WECHAT_ADAPTER_CODES.badSignature, `HTTP ${res.status}`) };
    const json = parseJson(res.text);
    if (!isRecord(json)) return { answer: unknown(WECHAT_ADAPTER_CODES.malformed, `HTTP ${res.status}`) };
    return { status: res.status, json };
  }

  function bill(json: Record<string, unknown>, payoutId: string): PayoutAnswer {
    if (json.out_bill_no !== payoutId) return unknown(WECHAT_ADAPTER_CODES.otherPayout);
    const ref = typeof json.transfer_bill_no === 'string' ? json.transfer_bill_no : undefined;
    return {
      state: wechatBillState(json.state),
      rawCode: String(json.state),
      ...(ref ? { providerRef: ref } : {}),
      ...(typeof json.fail_reason === 'string' ? { rawMessage: json.fail_reason } : {}),
    };
  }
  const raw = (json: Record<string, unknown>, status: number) => ({
    rawCode: typeof json.code === 'string' ? json.code : `HTTP_${status}`,
    ...(typeof json.message === 'string' ? { rawMessage: json.message } : {}),
  });

  return {
    name: 'wechat',
    kinds: ['wechat'],
    async pay(payoutId, destination, amount, signal): Promise<PayoutAnswer> {
      const refused = refuseBeforeSending('wechat', 'CNY', destination, amount);
      if (refused) return refused;
      const r = await call(
        'POST',
        TRANSFER_PATH,
        {
          appid: options.appid,
          out_bill_no: payoutId,
          transfer_scene_id: options.transferSceneId ?? '1005',
          openid: destination.account,
          user_name: destination.holderName,
          transfer_amount: amount.amount,
          transfer_remark: 'Recard payout',
          ...(options.notifyUrl ? { notify_url: options.notifyUrl } : {}),
        },
        signal,
      );
      if ('answer' in r) return r.answer;
      if (r.status === 200) return bill(r.json, payoutId);
      const code = raw(r.json, r.status);
      if (r.status >= 400 && r.status < 500 && REFUSED.has(code.rawCode)) return { state: 'failed', ...code };
      return { state: 'unknown', ...code };
    },
    async lookup(payoutId, signal): Promise<PayoutAnswer<LookupState>> {
      const r = await call('GET', billPath(payoutId), undefined, signal);
      if ('answer' in r) return r.answer;
      if (r.status === 200) return bill(r.json, payoutId);
      const code = raw(r.json, r.status);
      if (r.status === 404 && code.rawCode === 'NOT_FOUND') return { state: 'not_found', ...code };
      return { state: 'unknown', ...code };
    },
    close: () => agent.close(),
  };
}
