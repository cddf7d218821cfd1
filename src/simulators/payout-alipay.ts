import type { AlipayAdapterOptions } from '../adapters/payouts/alipay/adapter.js';
import {
  ALIPAY_METHODS,
  alipaySigningString,
  parseAlipayTimestamp,
  signedAnswer,
} from '../adapters/payouts/alipay/signing.js';
import { fenToYuan, yuanToFen } from '../adapters/payouts/amounts.js';
import { rsaSign, rsaVerify } from '../adapters/payouts/rsa.js';
import {
  createPayoutSimBase,
  listenPayoutSim,
  type PayoutRendering,
  type PayoutSimulator,
  type PayoutSimulatorOptions,
  payoutSimHandle,
} from './payout-base.js';
import { answerSigner, rsaPair } from './payout-keys.js';
import type { Rendered } from './server.js';

/**
 * Alipay open-API style (docs/payouts.md#alipay): `POST /gateway.do`, form-encoded, RSA2-signed by the
 * app; answers signed by the platform. `alipay.fund.trans.uni.transfer` pays at once (status SUCCESS)
 * or refuses (`40004` + sub_code); `alipay.fund.trans.common.query` tells what became of an
 * `out_biz_no`. One `out_biz_no` pays once: the same request again gets the first answer, another
 * amount or payee under it gets PAYMENT_INFO_INCONSISTENCY.
 */
export const ALIPAY_SIM_APP_ID = 'recard-sim';
/** Accounts this simulated Alipay has no user for (PAYEE_NOT_EXIST). */
export const ALIPAY_REFUSED_ACCOUNTS = ['13900000000', 'nobody@example.com'];
const WINDOW_MS = 10 * 60_000;
const LOGON_ID = /^(1\d{10}|[^@\s]{1,64}@[^@\s]{1,190})$/;

export interface AlipaySimulatorOptions extends PayoutSimulatorOptions {
  appId?: string;
  /** PEM of the app's public key; absent, the simulator makes the app's pair and hands out its private half. */
  appPublicKey?: string;
  refusedAccounts?: string[];
}

export interface AlipaySimulator extends PayoutSimulator {
  /** What an adapter needs to talk to this simulator (includes the generated app private key). */
  adapterConfig: AlipayAdapterOptions;
  /** On: answers are signed with a stray key, so they must not verify. */
  tamper(on: boolean): void;
}

interface Order {
  fen: number;
  identity: string;
  name: string;
  status: 'SUCCESS' | 'FAIL';
  orderId?: string;
  subCode?: string;
  at: string;
}

export async function startAlipaySimulator(options: AlipaySimulatorOptions = {}): Promise<AlipaySimulator> {
  const base = createPayoutSimBase(options);
  const { app, ledger } = base;
  const appId = options.appId ?? ALIPAY_SIM_APP_ID;
  const appPair = options.appPublicKey ? undefined : rsaPair();
  const appPublicKey = options.appPublicKey ?? (appPair?.publicKey as string);
  const platform = rsaPair();
  const signer = answerSigner(platform);
  base.onTamper(signer.tamper);
  const refused = new Set(options.refusedAccounts ?? ALIPAY_REFUSED_ACCOUNTS);
  const orders = new Map<string, Order>();
  let sequence = 0;

  const answer = (method: string, node: Record<string, unknown>): Rendered => {
    const json = JSON.stringify(node);
    return {
      status: 200,
      contentType: 'application/json; charset=utf-8',
      body: signedAnswer(method, json, rsaSign(signer.key(), json)),
    };
  };
  const refusal = (method: string, code: string, msg: string, subCode: string, subMsg: string) =>
    answer(method, { code, msg, sub_code: subCode, sub_msg: subMsg });
  const rendering = (method: string, normal: () => Rendered): PayoutRendering => ({
    normal,
    error: () => ({ status: 503, contentType: 'text/plain', body: 'service unavailable' }),
    ambiguous: () =>
      refusal(method, '20000', 'Service Currently Unavailable', 'isp.unknow-error', 'system busy'),
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );

  function transfer(biz: Record<string, unknown>): Rendered {
    const method = ALIPAY_METHODS.transfer;
    const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : '';
    const fen = typeof biz.trans_amount === 'string' ? yuanToFen(biz.trans_amount) : undefined;
    const payee = (biz.payee_info ?? {}) as Record<string, unknown>;
    const identity = typeof payee.identity === 'string' ? payee.identity : '';
    const name = typeof payee.name === 'string' ? payee.name : '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(outBizNo) || fen === undefined || fen < 10 || !identity || !name)
      return refusal(method, '40002', 'Invalid Arguments', 'isv.invalid-parameter', 'bad biz_content');
    const earlier = orders.get(outBizNo);
    if (earlier && (earlier.fen !== fen || earlier.identity !== identity || earlier.name !== name))
      return refusal(method, '40004', 'Business Failed', 'PAYMENT_INFO_INCONSISTENCY', 'out_biz_no reused');
    let order = earlier;
    if (!order) {
      const at = new Date().toISOString();
      const validFormat =
        payee.identity_type === 'ALIPAY_USER_ID' ? /^2088\d{12}$/.test(identity) : LOGON_ID.test(identity);
      if (!validFormat || refused.has(identity)) {
        order = { fen, identity, name, status: 'FAIL', subCode: 'PAYEE_NOT_EXIST', at };
      } else {
        const orderId = `2026${String(++sequence).padStart(16, '0')}`;
        ledger.pay({
          payoutId: outBizNo,
          amount: fen,
          currency: 'CNY',
          account: identity,
          providerRef: orderId,
        });
        order = { fen, identity, name, status: 'SUCCESS', orderId, at };
      }
      orders.set(outBizNo, order);
    }
    if (order.status === 'FAIL')
      return refusal(method, '40004', 'Business Failed', order.subCode ?? 'PAYEE_NOT_EXIST', 'payee refused');
    return answer(method, {
      code: '10000',
      msg: 'Success',
      out_biz_no: outBizNo,
      order_id: order.orderId,
      pay_fund_order_id: `${order.orderId}01`,
      status: 'SUCCESS',
      trans_date: order.at,
    });
  }

  function query(biz: Record<string, unknown>): Rendered {
    const method = ALIPAY_METHODS.query;
    const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : '';
    const order = orders.get(outBizNo);
    if (!order) return refusal(method, '40004', 'Business Failed', 'ORDER_NOT_EXIST', 'no such order');
    return answer(method, {
      code: '10000',
      msg: 'Success',
      out_biz_no: outBizNo,
      status: order.status,
      trans_amount: fenToYuan(order.fen),
      ...(order.orderId ? { order_id: order.orderId, pay_date: order.at } : {}),
      ...(order.subCode ? { fail_reason: order.subCode } : {}),
    });
  }

  app.post('/gateway.do', async (req, reply) => {
    const p = (req.body ?? {}) as Record<string, string>;
    const method = p.method === ALIPAY_METHODS.transfer || p.method === ALIPAY_METHODS.query ? p.method : '';
    const refuse = (r: Rendered) => reply.code(r.status).type(r.contentType).send(r.body);
    if (!method)
      return refuse(refusal('error', '40004', 'Business Failed', 'isv.invalid-method', 'no such method'));
    if (p.app_id !== appId)
      return refuse(refusal(method, '40002', 'Invalid Arguments', 'isv.invalid-app-id', 'unknown app_id'));
    if (p.sign_type !== 'RSA2' || !rsaVerify(appPublicKey, alipaySigningString(p), p.sign ?? ''))
      return refuse(refusal(method, '40002', 'Invalid Arguments', 'isv.invalid-signature', 'bad signature'));
    const ts = parseAlipayTimestamp(p.timestamp ?? '');
    if (ts === undefined || Math.abs(Date.now() - ts) > WINDOW_MS)
      return refuse(
        refusal(method, '40002', 'Invalid Arguments', 'isv.invalid-timestamp', 'stale timestamp'),
      );
    let biz: Record<string, unknown>;
    try {
      biz = JSON.parse(p.biz_content ?? '') as Record<string, unknown>;
    } catch {
      return refuse(refusal(method, '40002', 'Invalid Arguments', 'isv.invalid-parameter', 'biz_content'));
    }
    if (method === ALIPAY_METHODS.transfer) {
      if (typeof biz.out_biz_no === 'string') ledger.called(biz.out_biz_no);
      return base.answer(
        reply,
        'pay',
        rendering(method, () => transfer(biz)),
      );
    }
    return base.answer(
      reply,
      'lookup',
      rendering(method, () => query(biz)),
    );
  });

  const url = await listenPayoutSim(base, options);
  return Object.assign(payoutSimHandle(base, 'alipay', url), {
    adapterConfig: {
      endpoint: `${url}/gateway.do`,
      appId,
      appPrivateKey: appPair?.privateKey ?? '',
      alipayPublicKey: platform.publicKey,
    },
    tamper: signer.tamper,
  });
}
