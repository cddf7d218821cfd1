import { createAgent } from '../../issuers/http.js';
import { fenToYuan } from '../amounts.js';
import {
  DEFAULT_TIMEOUT_MS,
  deadline,
  isRecord,
  type PayoutAdapter,
  parseJson,
  send,
  unknown,
} from '../http.js';
import type { LookupState, PayoutAnswer, PayoutState } from '../port.js';
import { refuseBeforeSending } from '../preflight.js';
import { rsaSign, rsaVerify } from '../rsa.js';
import { ALIPAY_METHODS, alipaySigningString, alipayTimestamp, extractSignedNode } from './signing.js';

export interface AlipayAdapterOptions {
  /** The open-API gateway, e.g. https://openapi.alipay.com/gateway.do */
  endpoint: string;
  appId: string;
  /** PEM; signs every request. Never logged. */
  appPrivateKey: string;
  /** PEM; every answer must verify against it before it is believed. */
  alipayPublicKey: string;
  timeoutMs?: number;
  orderTitle?: string;
}

/** Raw codes the adapter itself produces (the rest are Alipay's `sub_code`, else `code`). */
export const ALIPAY_ADAPTER_CODES = {
  badSignature: 'ANSWER_SIGNATURE_INVALID',
  malformed: 'ANSWER_MALFORMED',
  otherPayout: 'ANSWER_FOR_ANOTHER_PAYOUT',
} as const;

/** `40004` sub-codes that say "result unknown" (ask with the query) rather than "refused". */
const UNKNOWN_SUB_CODES = new Set(['SYSTEM_ERROR', 'PAYMENT_INFO_INCONSISTENCY']);
/** Request refused before any business happened: missing/invalid arguments, signature, permission. */
const REQUEST_REFUSED = new Set(['40001', '40002', '40006']);

/** A transfer's or a query's `status` → the port's state. */
export function alipayStatusState(status: unknown): PayoutState {
  if (status === 'SUCCESS') return 'paid';
  if (status === 'FAIL' || status === 'CLOSED' || status === 'REFUND') return 'failed';
  if (status === 'DEALING' || status === 'WAIT_PAY' || status === 'INIT') return 'accepted';
  return 'unknown';
}

type Node = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Alipay-style single transfer to an Alipay account (uni.transfer + common.query), signed RSA2. */
export function createAlipayAdapter(options: AlipayAdapterOptions): PayoutAdapter {
  const agent = createAgent(16);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  /** One signed call; the verified response node, or the `unknown` answer saying why there is none. */
  async function call(
    method: string,
    biz: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ node: Node } | { answer: PayoutAnswer<'unknown'> }> {
    const params: Record<string, string> = {
      app_id: options.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: alipayTimestamp(Date.now()),
      version: '1.0',
      biz_content: JSON.stringify(biz),
    };
    params.sign = rsaSign(options.appPrivateKey, alipaySigningString(params));
    const sent = await send(agent, {
      method: 'POST',
      url: options.endpoint,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: new URLSearchParams(params).toString(),
      signal: deadline(timeoutMs, signal),
    });
    if (!sent.ok) return { answer: sent.answer };
    if (sent.res.status !== 200) return { answer: unknown(`HTTP_${sent.res.status}`) };
    const signed = extractSignedNode(sent.res.text, method);
    if (!signed) return { answer: unknown(ALIPAY_ADAPTER_CODES.malformed, 'no signed response node') };
    if (!rsaVerify(options.alipayPublicKey, signed.node, signed.sign))
      return { answer: unknown(ALIPAY_ADAPTER_CODES.badSignature) };
    const node = parseJson(signed.node);
    if (!isRecord(node) || typeof node.code !== 'string')
      return { answer: unknown(ALIPAY_ADAPTER_CODES.malformed, 'response node without a code') };
    return { node };
  }

  const raw = (node: Node) => ({
    rawCode: str(node.sub_code) ?? String(node.code),
    ...((str(node.sub_msg) ?? str(node.msg)) ? { rawMessage: str(node.sub_msg) ?? str(node.msg) } : {}),
  });

  /** The node of a `10000` answer, checked to be about this payout. */
  function settled(node: Node, payoutId: string): PayoutAnswer {
    if (node.out_biz_no !== payoutId) return unknown(ALIPAY_ADAPTER_CODES.otherPayout);
    const state = alipayStatusState(node.status);
    const ref = str(node.order_id);
    return {
      state,
      rawCode: str(node.status) ?? '10000',
      ...(ref ? { providerRef: ref } : {}),
      ...(str(node.fail_reason) ? { rawMessage: str(node.fail_reason) } : {}),
    };
  }

  return {
    name: 'alipay',
    kinds: ['alipay'],
    async pay(payoutId, destination, amount, signal): Promise<PayoutAnswer> {
      const refused = refuseBeforeSending('alipay', 'CNY', destination, amount);
      if (refused) return refused;
      const r = await call(
        ALIPAY_METHODS.transfer,
        {
          out_biz_no: payoutId,
          trans_amount: fenToYuan(amount.amount),
          product_code: 'TRANS_ACCOUNT_NO_PWD',
          biz_scene: 'DIRECT_TRANSFER',
          order_title: options.orderTitle ?? 'Recard payout',
          payee_info: {
            identity: destination.account,
            identity_type: /^2088\d{12}$/.test(destination.account) ? 'ALIPAY_USER_ID' : 'ALIPAY_LOGON_ID',
            name: destination.holderName,
          },
        },
        signal,
      );
      if ('answer' in r) return r.answer;
      const { node } = r;
      if (node.code === '10000') return settled(node, payoutId);
      if (node.code === '40004' && !UNKNOWN_SUB_CODES.has(String(node.sub_code)))
        return { state: 'failed', ...raw(node) };
      if (REQUEST_REFUSED.has(String(node.code))) return { state: 'failed', ...raw(node) };
      return { state: 'unknown', ...raw(node) };
    },
    async lookup(payoutId, signal): Promise<PayoutAnswer<LookupState>> {
      const r = await call(
        ALIPAY_METHODS.query,
        { out_biz_no: payoutId, product_code: 'TRANS_ACCOUNT_NO_PWD', biz_scene: 'DIRECT_TRANSFER' },
        signal,
      );
      if ('answer' in r) return r.answer;
      const { node } = r;
      if (node.code === '10000') return settled(node, payoutId);
      if (node.code === '40004' && node.sub_code === 'ORDER_NOT_EXIST')
        return { state: 'not_found', ...raw(node) };
      return { state: 'unknown', ...raw(node) };
    },
    close: () => agent.close(),
  };
}
