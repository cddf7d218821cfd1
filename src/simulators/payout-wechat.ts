import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { rsaSign, rsaVerify } from '../adapters/payouts/rsa.js';
import type { WechatAdapterOptions } from '../adapters/payouts/wechat/adapter.js';
import {
  answerMessage,
  encryptResource,
  parseAuthorization,
  requestMessage,
  TRANSFER_PATH,
} from '../adapters/payouts/wechat/crypto.js';
import { WECHAT_TRANSFER_EVENT } from '../adapters/payouts/wechat/notification.js';
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
 * WeChat Pay API v3 style (docs/payouts.md#wechat): merchant transfer bills. A bill is ACCEPTED, then
 * settles (SUCCESS, or FAIL for a refused openid) at once, after `settleAfterMs`, or on
 * POST /__sim/settle; at settlement WeChat posts MCHTRANSFER.BILL.FINISHED to the notify URL
 * (encrypted with the APIv3 key, signed in headers), sometimes more than once (`duplicateRate`).
 */
export const WECHAT_SIM_MCHID = '1900000109';
export const WECHAT_SIM_APPID = 'wxrecardsim0001';
/** Openids this simulated WeChat refuses at settlement (FAIL, OPENID_INVALID). */
export const WECHAT_REFUSED_OPENIDS = ['o_refused_openid_000'];
const WINDOW_S = 300;

export interface WechatSimulatorOptions extends PayoutSimulatorOptions {
  mchid?: string;
  appid?: string;
  /** PEM of the merchant's public key; absent, the simulator makes the merchant's pair. */
  merchantPublicKey?: string;
  merchantSerialNo?: string;
  /** 32 bytes; absent, made at random. */
  apiV3Key?: string;
  /** Used when a transfer names no notify_url. */
  notifyUrl?: string;
  /** 'immediate' (default), 'manual' (POST /__sim/settle) or a delay in ms. */
  settle?: 'immediate' | 'manual' | number;
  refusedOpenids?: string[];
}

export interface WechatSimulator extends PayoutSimulator {
  adapterConfig: WechatAdapterOptions;
  /** What a notification receiver needs: the platform key and the APIv3 key. Never logged. */
  notificationKeys: { platformPublicKey: string; platformSerialNo: string; apiV3Key: string };
  /** Settles every accepted bill; resolves once their notifications were sent. */
  settle(): Promise<number>;
  /** Notifications posted so far (duplicates included). */
  notificationsSent(): number;
  tamper(on: boolean): void;
}

interface Bill {
  outBillNo: string;
  billNo: string;
  amount: number;
  openid: string;
  userName: string;
  notifyUrl: string | undefined;
  state: 'ACCEPTED' | 'SUCCESS' | 'FAIL';
  failReason?: string;
  createTime: string;
  updateTime: string;
}

export async function startWechatSimulator(options: WechatSimulatorOptions = {}): Promise<WechatSimulator> {
  const base = createPayoutSimBase(options);
  const { app, ledger } = base;
  const mchid = options.mchid ?? WECHAT_SIM_MCHID;
  const appid = options.appid ?? WECHAT_SIM_APPID;
  const merchantPair = options.merchantPublicKey ? undefined : rsaPair();
  const merchantPublicKey = options.merchantPublicKey ?? (merchantPair?.publicKey as string);
  const merchantSerialNo = options.merchantSerialNo ?? randomBytes(20).toString('hex').toUpperCase();
  const platform = rsaPair();
  const platformSerialNo = `PUB_KEY_ID_${randomBytes(12).toString('hex').toUpperCase()}`;
  const apiV3Key = options.apiV3Key ?? randomBytes(16).toString('hex');
  const signer = answerSigner(platform);
  base.onTamper(signer.tamper);
  const refused = new Set(options.refusedOpenids ?? WECHAT_REFUSED_OPENIDS);
  const mode = options.settle ?? 'immediate';
  const bills = new Map<string, Bill>();
  const seenNonces = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;
  let sent = 0;

  /** Platform-signed headers over one body. */
  const signedHeaders = (body: string, key = signer.key()) => {
    const ts = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    return {
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': nonce,
      'wechatpay-signature': rsaSign(key, answerMessage(ts, nonce, body)),
      'wechatpay-serial': platformSerialNo,
    };
  };
  const json = (status: number, body: unknown): Rendered => {
    const text = JSON.stringify(body);
    return { status, contentType: 'application/json', body: text, headers: signedHeaders(text) };
  };
  const fail = (status: number, code: string, message: string) => json(status, { code, message });
  const rendering = (normal: () => Rendered): PayoutRendering => ({
    normal,
    error: () => fail(500, 'SYSTEM_ERROR', 'system error, try again with the same out_bill_no'),
    ambiguous: () => fail(429, 'FREQUENCY_LIMITED', 'too many requests'),
  });
  const view = (b: Bill) => ({
    mch_id: mchid,
    out_bill_no: b.outBillNo,
    transfer_bill_no: b.billNo,
    appid,
    state: b.state,
    transfer_amount: b.amount,
    openid: b.openid,
    create_time: b.createTime,
    update_time: b.updateTime,
    ...(b.failReason ? { fail_reason: b.failReason } : {}),
  });

  async function notify(b: Bill): Promise<void> {
    if (!b.notifyUrl) return;
    const nonce = randomBytes(6).toString('hex');
    const body = JSON.stringify({
      id: `EV-${b.billNo}`,
      create_time: b.updateTime,
      resource_type: 'encrypt-resource',
      event_type: WECHAT_TRANSFER_EVENT,
      summary: 'transfer bill finished',
      resource: {
        original_type: 'mch_payment',
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encryptResource(apiV3Key, JSON.stringify(view(b)), 'mch_payment', nonce),
        associated_data: 'mch_payment',
        nonce,
      },
    });
    // A notification is signed by the real platform key even while answers are tampered.
    const headers = { 'content-type': 'application/json', ...signedHeaders(body, platform.privateKey) };
    let copies = 1;
    while (copies < 3 && base.random() < base.settings.faults.duplicateRate) copies++;
    for (let i = 0; i < copies; i++) {
      sent++;
      try {
        const res = await request(b.notifyUrl, { method: 'POST', headers, body });
        await res.body.dump();
      } catch {
        // An unreachable receiver is its problem; the bill's state can still be queried.
      }
    }
  }

  /** Moves one accepted bill to its final state; pays it at most once (the ledger refuses a second). */
  function settleBill(b: Bill): Promise<void> {
    if (b.state !== 'ACCEPTED') return Promise.resolve();
    b.updateTime = new Date().toISOString();
    if (refused.has(b.openid)) {
      b.state = 'FAIL';
      b.failReason = 'OPENID_INVALID';
    } else {
      ledger.pay({
        payoutId: b.outBillNo,
        amount: b.amount,
        currency: 'CNY',
        account: b.openid,
        providerRef: b.billNo,
      });
      b.state = 'SUCCESS';
    }
    return notify(b);
  }
  async function settleAll(): Promise<number> {
    const open = [...bills.values()].filter((b) => b.state === 'ACCEPTED');
    await Promise.all(open.map(settleBill));
    return open.length;
  }

  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addHook('preValidation', async (req, reply) => {
    if (req.url.startsWith('/__sim/')) {
      if (typeof req.body === 'string' && req.body !== '') req.body = JSON.parse(req.body);
      return;
    }
    const refuse = (message: string) => {
      const r = fail(401, 'SIGN_ERROR', message);
      return reply
        .code(r.status)
        .headers(r.headers ?? {})
        .type(r.contentType)
        .send(r.body);
    };
    const auth = parseAuthorization(String(req.headers.authorization ?? ''));
    if (!auth || auth.mchid !== mchid) return refuse('missing or foreign Authorization');
    if (auth.serial_no !== merchantSerialNo) return refuse('unknown merchant certificate serial');
    if (!/^\d{1,12}$/.test(auth.timestamp) || Math.abs(Date.now() / 1000 - Number(auth.timestamp)) > WINDOW_S)
      return refuse('timestamp outside the window');
    if (seenNonces.has(auth.nonce_str)) return refuse('nonce reused');
    const body = typeof req.body === 'string' ? req.body : '';
    if (
      !rsaVerify(
        merchantPublicKey,
        requestMessage(req.method, req.url, auth.timestamp, auth.nonce_str, body),
        auth.signature,
      )
    )
      return refuse('signature does not match');
    seenNonces.add(auth.nonce_str);
    if (body !== '') {
      try {
        req.body = JSON.parse(body);
      } catch {
        const r = fail(400, 'PARAM_ERROR', 'body is not JSON');
        return reply
          .code(r.status)
          .headers(r.headers ?? {})
          .type(r.contentType)
          .send(r.body);
      }
    }
  });

  function transfer(b: Record<string, unknown>): Rendered {
    const outBillNo = b.out_bill_no as string;
    const amount = b.transfer_amount;
    const openid = typeof b.openid === 'string' ? b.openid : '';
    const userName = typeof b.user_name === 'string' ? b.user_name : '';
    if (
      b.appid !== appid ||
      typeof amount !== 'number' ||
      !Number.isSafeInteger(amount) ||
      amount < 1 ||
      !/^[A-Za-z0-9_-]{10,64}$/.test(openid) ||
      !userName
    )
      return fail(400, 'PARAM_ERROR', 'invalid transfer parameters');
    const earlier = bills.get(outBillNo);
    if (earlier) {
      if (earlier.amount !== amount || earlier.openid !== openid || earlier.userName !== userName)
        return fail(400, 'OUT_BILL_NO_CONFLICT', 'out_bill_no already used with other parameters');
      return json(200, view(earlier));
    }
    const now = new Date().toISOString();
    const bill: Bill = {
      outBillNo,
      billNo: `1330000${String(++sequence).padStart(20, '0')}`,
      amount,
      openid,
      userName,
      notifyUrl: typeof b.notify_url === 'string' ? b.notify_url : options.notifyUrl,
      state: 'ACCEPTED',
      createTime: now,
      updateTime: now,
    };
    bills.set(outBillNo, bill);
    if (mode === 'immediate') void settleBill(bill);
    else if (typeof mode === 'number') {
      const t = setTimeout(() => {
        timers.delete(t);
        void settleBill(bill);
      }, mode);
      timers.add(t);
    }
    return json(200, view(bill));
  }

  app.post('/__sim/settle', async () => ({ settled: await settleAll() }));
  app.post(TRANSFER_PATH, async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.out_bill_no !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(b.out_bill_no)) {
      const r = fail(400, 'PARAM_ERROR', 'out_bill_no is required');
      return reply
        .code(r.status)
        .headers(r.headers ?? {})
        .type(r.contentType)
        .send(r.body);
    }
    ledger.called(b.out_bill_no);
    return base.answer(
      reply,
      'pay',
      rendering(() => transfer(b)),
    );
  });
  app.get(`${TRANSFER_PATH}/out-bill-no/:no`, async (req, reply) => {
    const no = (req.params as { no: string }).no;
    return base.answer(
      reply,
      'lookup',
      rendering(() => {
        const bill = bills.get(no);
        return bill ? json(200, view(bill)) : fail(404, 'NOT_FOUND', 'no such bill');
      }),
    );
  });
  app.addHook('onClose', async () => {
    for (const t of timers) clearTimeout(t);
  });

  const url = await listenPayoutSim(base, options);
  return Object.assign(payoutSimHandle(base, 'wechat', url), {
    adapterConfig: {
      endpoint: url,
      mchid,
      appid,
      merchantPrivateKey: merchantPair?.privateKey ?? '',
      merchantSerialNo,
      platformPublicKey: platform.publicKey,
      platformSerialNo,
    },
    notificationKeys: { platformPublicKey: platform.publicKey, platformSerialNo, apiV3Key },
    settle: settleAll,
    notificationsSent: () => sent,
    tamper: signer.tamper,
  });
}
