import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlipayAdapter } from '../../src/adapters/payouts/alipay/adapter.js';
import { alipaySigningString } from '../../src/adapters/payouts/alipay/signing.js';
import { fenToYuan, yuanToFen } from '../../src/adapters/payouts/amounts.js';
import { createBankFileAdapter } from '../../src/adapters/payouts/bank-file/adapter.js';
import type { PayoutAdapter } from '../../src/adapters/payouts/http.js';
import type { PayoutAnswer, PayoutDestination } from '../../src/adapters/payouts/port.js';
import { createPayoutProvider, PAYOUT_PROVIDERS } from '../../src/adapters/payouts/registry.js';
import { rsaSign } from '../../src/adapters/payouts/rsa.js';
import { createUsdtAdapter } from '../../src/adapters/payouts/usdt/adapter.js';
import {
  createWechatAdapter,
  type NotificationKeys,
  verifyNotification,
} from '../../src/adapters/payouts/wechat/adapter.js';
import {
  authorizationHeader,
  decryptResource,
  encryptResource,
  parseAuthorization,
} from '../../src/adapters/payouts/wechat/crypto.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import {
  ALIPAY_REFUSED_ACCOUNTS,
  type AlipaySimulator,
  startAlipaySimulator,
} from '../../src/simulators/payout-alipay.js';
import {
  BANK_CLOSED_CARDS,
  type BankSimulator,
  startBankSimulator,
  withCheckDigit,
} from '../../src/simulators/payout-bank.js';
import type { PayoutSimulator } from '../../src/simulators/payout-base.js';
import { rsaPair } from '../../src/simulators/payout-keys.js';
import type { LedgerView } from '../../src/simulators/payout-ledger.js';
import { startUsdtSimulator, type UsdtSimulator } from '../../src/simulators/payout-usdt.js';
import {
  startWechatSimulator,
  WECHAT_REFUSED_OPENIDS,
  type WechatSimulator,
} from '../../src/simulators/payout-wechat.js';
import { startPayoutSimulators } from '../../src/simulators/payouts.js';
import { startReceiver } from '../harness/receiver.js';

/**
 * The one contract every payout adapter meets, run against each adapter paired with its simulator
 * (docs/payouts.md). Raw codes differ per protocol; the port's states must not.
 */
interface Harness {
  sim: PayoutSimulator;
  provider: PayoutAdapter;
  /** Lets the provider finish what it accepted, through its control API over HTTP. */
  settle(): Promise<void>;
}
interface Pair {
  name: string;
  start(random: () => number): Promise<Harness>;
  destination(i: number): PayoutDestination;
  refused: PayoutDestination;
  currency: string;
  signsAnswers: boolean;
}

/** A seeded PRNG: the simulators' coin flips are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const post = async (url: string, body?: unknown) => {
  const res = await fetch(url, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  expect(res.status, url).toBe(200);
};
const ledgerOf = async (sim: PayoutSimulator) =>
  (await (await fetch(`${sim.url}/__sim/payouts`)).json()) as LedgerView;
const hex = (i: number, n: number) => i.toString(16).padStart(n, '0');

const pairs: Pair[] = [
  {
    name: 'Alipay (RSA2 open API)',
    async start(random) {
      const sim = await startAlipaySimulator({ random });
      return { sim, provider: createAlipayAdapter(sim.adapterConfig), settle: async () => {} };
    },
    destination: (i) => ({
      kind: 'alipay',
      account: `1380000${String(i).padStart(4, '0')}`,
      holderName: '张三',
    }),
    refused: { kind: 'alipay', account: ALIPAY_REFUSED_ACCOUNTS[0] as string, holderName: '李四' },
    currency: 'CNY',
    signsAnswers: true,
  },
  {
    name: 'WeChat Pay v3 (transfer bills)',
    async start(random) {
      const sim = await startWechatSimulator({ random, settle: 'manual' });
      return {
        sim,
        provider: createWechatAdapter(sim.adapterConfig),
        settle: () => post(`${sim.url}/__sim/settle`),
      };
    },
    destination: (i) => ({
      kind: 'wechat',
      account: `oUpF8uMuAJO_M2pxb1Q9zNjW${hex(i, 4)}`,
      holderName: '王五',
    }),
    refused: { kind: 'wechat', account: WECHAT_REFUSED_OPENIDS[0] as string, holderName: '赵六' },
    currency: 'CNY',
    signsAnswers: true,
  },
  {
    name: 'bank batch file',
    async start(random) {
      const sim = await startBankSimulator({ random });
      return {
        sim,
        provider: createBankFileAdapter({ endpoint: sim.url }),
        settle: () => post(`${sim.url}/__sim/publish`),
      };
    },
    destination: (i) => ({
      kind: 'bank_card',
      account: withCheckDigit(`621700${String(i).padStart(12, '0')}`),
      holderName: '钱七',
    }),
    refused: { kind: 'bank_card', account: BANK_CLOSED_CARDS[0] as string, holderName: '孙八' },
    currency: 'CNY',
    signsAnswers: false,
  },
  {
    name: 'USDT (JSON-RPC custody)',
    async start(random) {
      const sim = await startUsdtSimulator({ random });
      return {
        sim,
        provider: createUsdtAdapter({ ...sim.adapterConfig, confirmations: 3 }),
        settle: () => post(`${sim.url}/__sim/mine`, { blocks: 3 }),
      };
    },
    destination: (i) =>
      i % 2
        ? { kind: 'usdt', network: 'erc20', account: `0x${hex(i, 40)}`, holderName: 'Holder' }
        : {
            kind: 'usdt',
            network: 'trc20',
            account: `TJRyWwFs9wTFGZg3JbrVriFbNfCug5${String(i).padStart(4, '1').replace(/0/g, '1')}`,
            holderName: 'Holder',
          },
    refused: {
      kind: 'usdt',
      network: 'trc20',
      account: 'T0notbase58OOOOOOOOOOOOOOOOOOOOOOO',
      holderName: 'Holder',
    },
    currency: 'USDT',
    signsAnswers: false,
  },
];

const PAID_OR_ACCEPTED = ['accepted', 'paid'];

for (const [index, pair] of pairs.entries()) {
  describe(`payout provider contract: ${pair.name}`, () => {
    let h: Harness;
    let n = 0;
    /** Each test takes fresh payout ids and destinations. */
    const next = () => {
      n++;
      return {
        id: `po_${index}_${n}`,
        dest: pair.destination(n),
        amount: { amount: 10_000 + n * 101, currency: pair.currency },
      };
    };
    const paidAt = async (id: string) => (await ledgerOf(h.sim)).paid.filter((p) => p.payoutId === id);

    beforeAll(async () => {
      h = await pair.start(seeded(1000 + index));
    });
    afterAll(async () => {
      await h.provider.close();
      await h.sim.close();
    });
    const clean = () => h.sim.setFaults(NO_FAULTS);

    it('pays: pay is accepted or paid, lookup reaches paid, the provider paid exactly that', async () => {
      const { id, dest, amount } = next();
      const first = await h.provider.pay(id, dest, amount);
      expect(PAID_OR_ACCEPTED).toContain(first.state);
      await h.settle();
      const looked = await h.provider.lookup(id);
      expect(looked.state).toBe('paid');
      expect(looked.providerRef).toBeTruthy();
      expect(await paidAt(id)).toEqual([
        expect.objectContaining({
          payoutId: id,
          amount: amount.amount,
          currency: pair.currency,
          account: dest.account,
        }),
      ]);
    });

    it('the same id sent again pays once at the provider', async () => {
      const { id, dest, amount } = next();
      expect(PAID_OR_ACCEPTED).toContain((await h.provider.pay(id, dest, amount)).state);
      expect(PAID_OR_ACCEPTED).toContain((await h.provider.pay(id, dest, amount)).state);
      await h.settle();
      expect(PAID_OR_ACCEPTED).toContain((await h.provider.pay(id, dest, amount)).state);
      await h.settle();
      expect((await h.provider.lookup(id)).state).toBe('paid');
      expect(await paidAt(id)).toHaveLength(1);
      const view = await ledgerOf(h.sim);
      expect(view.payCalls[id]).toBe(3);
      expect(view.refusedDoubles).toBe(0);
    });

    it('lookup of an id the provider never saw is not_found', async () => {
      expect((await h.provider.lookup(`po_never_${index}`)).state).toBe('not_found');
    });

    it('a refused destination fails, and nothing is paid', async () => {
      const { id, amount } = next();
      const first = await h.provider.pay(id, pair.refused, amount);
      expect(['accepted', 'failed']).toContain(first.state);
      await h.settle();
      const looked = await h.provider.lookup(id);
      expect(['failed', 'not_found']).toContain(looked.state);
      if (first.state === 'accepted') expect(looked.state).toBe('failed');
      expect(first.state === 'failed' || looked.state === 'failed').toBe(true);
      expect(await paidAt(id)).toEqual([]);
    });

    it('a pay that times out is unknown; lookup then tells the truth either way', async () => {
      h.sim.setFaults({ timeoutRate: 1, hangMs: 3000, operations: ['pay'] });
      const batch = Array.from({ length: 8 }, next);
      try {
        const answers = await Promise.all(
          batch.map((b) => h.provider.pay(b.id, b.dest, b.amount, AbortSignal.timeout(200))),
        );
        for (const a of answers) expect(a.state).toBe('unknown');
      } finally {
        clean();
      }
      await h.settle();
      const view = await ledgerOf(h.sim);
      let carried = 0;
      for (const b of batch) {
        const wasPaid = view.paid.some((p) => p.payoutId === b.id);
        if (wasPaid) carried++;
        expect((await h.provider.lookup(b.id)).state, b.id).toBe(wasPaid ? 'paid' : 'not_found');
      }
      // Both cases happen: some were carried out before the silence, some not.
      expect(carried).toBeGreaterThan(0);
      expect(carried).toBeLessThan(batch.length);
    });

    it('a provider failure (5xx) is unknown, and nothing is paid', async () => {
      const { id, dest, amount } = next();
      h.sim.setFaults({ errorRate: 1, operations: ['pay'] });
      try {
        expect((await h.provider.pay(id, dest, amount)).state).toBe('unknown');
      } finally {
        clean();
      }
      await h.settle();
      expect(await paidAt(id)).toEqual([]);
      expect((await h.provider.lookup(id)).state).toBe('not_found');
    });

    it('a reset connection is unknown', async () => {
      const { id, dest, amount } = next();
      h.sim.setFaults({ resetRate: 1, operations: ['pay'] });
      try {
        expect((await h.provider.pay(id, dest, amount)).state).toBe('unknown');
      } finally {
        clean();
      }
    });

    it('a garbled answer is unknown, though the payout was carried out', async () => {
      const { id, dest, amount } = next();
      h.sim.setFaults({ malformedRate: 1, operations: ['pay'] });
      try {
        expect((await h.provider.pay(id, dest, amount)).state).toBe('unknown');
      } finally {
        clean();
      }
      await h.settle();
      expect((await h.provider.lookup(id)).state).toBe('paid');
      expect(await paidAt(id)).toHaveLength(1);
    });

    it("the provider's ambiguous answer is unknown", async () => {
      const { id, dest, amount } = next();
      h.sim.setFaults({ ambiguousRate: 1, operations: ['pay'] });
      try {
        expect((await h.provider.pay(id, dest, amount)).state).toBe('unknown');
      } finally {
        clean();
      }
    });

    it('a lookup without a usable answer is unknown, never not_found', async () => {
      const { id, dest, amount } = next();
      await h.provider.pay(id, dest, amount);
      await h.settle();
      for (const fault of [{ errorRate: 1 }, { malformedRate: 1 }, { resetRate: 1 }]) {
        h.sim.setFaults({ ...fault, operations: ['lookup'] });
        try {
          expect((await h.provider.lookup(id)).state, JSON.stringify(fault)).toBe('unknown');
        } finally {
          clean();
        }
      }
      expect((await h.provider.lookup(id)).state).toBe('paid');
    });

    if (pair.signsAnswers)
      it('an answer with a bad signature is never believed as paid', async () => {
        const { id, dest, amount } = next();
        const tamper = (on: boolean) =>
          fetch(`${h.sim.url}/__sim/tamper`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ on }),
          });
        expect((await tamper(true)).status).toBe(200);
        let answers: PayoutAnswer<string>[];
        try {
          const paid = await h.provider.pay(id, dest, amount);
          await h.settle();
          answers = [paid, await h.provider.lookup(id)];
        } finally {
          await tamper(false);
        }
        for (const a of answers)
          expect(a).toMatchObject({ state: 'unknown', rawCode: 'ANSWER_SIGNATURE_INVALID' });
        // The provider did pay: only a verified answer may say so.
        expect(await paidAt(id)).toHaveLength(1);
        expect((await h.provider.lookup(id)).state).toBe('paid');
      });

    it('takes fault switches over HTTP, refuses bad ones, and shows its ledger', async () => {
      const put = (body: unknown) =>
        fetch(`${h.sim.url}/__sim/faults`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      try {
        expect((await put({ latencyMs: 1, duplicateRate: 0.5, operations: ['pay'] })).status).toBe(200);
        expect(h.sim.faults).toMatchObject({ latencyMs: 1, duplicateRate: 0.5, operations: ['pay'] });
        expect((await put({ timeoutRate: 2 })).status).toBe(400);
        expect((await put({ nonsense: 1 })).status).toBe(400);
      } finally {
        clean();
      }
      const view = await ledgerOf(h.sim);
      expect(view.paid).toEqual(h.sim.paid());
      expect(view.payCalls).toEqual(h.sim.payCalls());
      // Never twice, whatever the tests above threw at it.
      const ids = view.paid.map((p) => p.payoutId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(view.refusedDoubles).toBe(0);
    });
  });
}

describe('registry and simulator set', () => {
  it('startPayoutSimulators hands out a config per provider; createPayoutProvider pays through each', async () => {
    const set = await startPayoutSimulators();
    const providers = PAYOUT_PROVIDERS.map((name) => createPayoutProvider(set.configs[name]));
    try {
      expect(providers.map((p) => p.name)).toEqual([...PAYOUT_PROVIDERS]);
      const dests: PayoutDestination[] = [
        pairs[0]?.destination(900) as PayoutDestination,
        pairs[1]?.destination(900) as PayoutDestination,
        pairs[2]?.destination(900) as PayoutDestination,
        pairs[3]?.destination(900) as PayoutDestination,
      ];
      const currencies = ['CNY', 'CNY', 'CNY', 'USDT'];
      for (const [i, p] of providers.entries()) {
        const a = await p.pay(`po_set_${i}`, dests[i] as PayoutDestination, {
          amount: 100,
          currency: currencies[i] as string,
        });
        expect(PAID_OR_ACCEPTED, p.name).toContain(a.state);
      }
      set.bank.publish();
      set.usdt.mine(12);
      for (const [i, p] of providers.entries())
        expect((await p.lookup(`po_set_${i}`)).state, p.name).toBe('paid');
      for (const sim of [set.alipay, set.wechat, set.bank, set.usdt]) expect(sim.paid()).toHaveLength(1);
      // The port's preflight: a destination of another kind is refused before anything is sent.
      const wrong = await providers[0]?.pay('po_set_x', dests[3] as PayoutDestination, {
        amount: 1,
        currency: 'CNY',
      });
      expect(wrong).toMatchObject({ state: 'failed', rawCode: 'DESTINATION_KIND_UNSUPPORTED' });
      const float = await providers[0]?.pay('po_set_y', dests[0] as PayoutDestination, {
        amount: 1.5,
        currency: 'CNY',
      });
      expect(float).toMatchObject({ state: 'failed', rawCode: 'AMOUNT_INVALID' });
      expect(set.alipay.payCalls()).toEqual({ po_set_0: 1 });
    } finally {
      await Promise.all(providers.map((p) => p.close()));
      await set.close();
    }
  });
});

describe('protocol specifics', () => {
  it('amounts: fen to yuan and back with integer arithmetic only', () => {
    expect([0, 1, 10, 99, 100, 12_345, 9_007_199_254_740_991].map(fenToYuan)).toEqual([
      '0.00',
      '0.01',
      '0.10',
      '0.99',
      '1.00',
      '123.45',
      '90071992547409.91',
    ]);
    expect(() => fenToYuan(1.5)).toThrow(RangeError);
    expect(() => fenToYuan(-1)).toThrow(RangeError);
    expect(yuanToFen('0.07')).toBe(7);
    expect(yuanToFen('1234.56')).toBe(123_456);
    for (const bad of ['1.5', '1', '1e3', '-1.00', '1.000', ' 1.00', '0x1.00'])
      expect(yuanToFen(bad), bad).toBeUndefined();
  });

  it('Alipay: the signing string is the sorted k=v list without sign and empty values', () => {
    expect(
      alipaySigningString({ method: 'm', app_id: 'a', sign: 'x', biz_content: '{"b":1}', empty: '' }),
    ).toBe('app_id=a&biz_content={"b":1}&method=m');
  });

  describe('Alipay', () => {
    let sim: AlipaySimulator;
    let adapter: PayoutAdapter;
    beforeAll(async () => {
      sim = await startAlipaySimulator();
      adapter = createAlipayAdapter(sim.adapterConfig);
    });
    afterAll(async () => {
      await adapter.close();
      await sim.close();
    });
    const dest: PayoutDestination = { kind: 'alipay', account: 'seller@example.com', holderName: '张三' };

    it('pays trans_amount as the exact decimal of the fen sent', async () => {
      expect(await adapter.pay('po_ali_amount', dest, { amount: 1_000_001, currency: 'CNY' })).toMatchObject({
        state: 'paid',
        rawCode: 'SUCCESS',
      });
      expect(sim.paid()).toContainEqual(
        expect.objectContaining({ payoutId: 'po_ali_amount', amount: 1_000_001 }),
      );
    });

    it('a request signed with another app key is refused by the simulator: failed, nothing paid', async () => {
      const stray = createAlipayAdapter({ ...sim.adapterConfig, appPrivateKey: rsaPair().privateKey });
      try {
        expect(await stray.pay('po_ali_badsig', dest, { amount: 500, currency: 'CNY' })).toMatchObject({
          state: 'failed',
          rawCode: 'isv.invalid-signature',
        });
        expect(sim.payCalls()).not.toHaveProperty('po_ali_badsig');
        expect((await adapter.lookup('po_ali_badsig')).state).toBe('not_found');
      } finally {
        await stray.close();
      }
    });

    it('an answer signed by another key than the platform’s is unknown, not paid', async () => {
      const wrongPlatform = createAlipayAdapter({
        ...sim.adapterConfig,
        alipayPublicKey: rsaPair().publicKey,
      });
      try {
        expect(
          await wrongPlatform.pay('po_ali_wrongpub', dest, { amount: 500, currency: 'CNY' }),
        ).toMatchObject({
          state: 'unknown',
          rawCode: 'ANSWER_SIGNATURE_INVALID',
        });
        expect((await adapter.lookup('po_ali_wrongpub')).state).toBe('paid');
      } finally {
        await wrongPlatform.close();
      }
    });

    it('the same out_biz_no with another amount or payee is refused and pays nothing more', async () => {
      await adapter.pay('po_ali_conflict', dest, { amount: 800, currency: 'CNY' });
      for (const [d, amount] of [
        [dest, 900],
        [{ ...dest, account: '13800009999' }, 800],
      ] as const)
        expect(await adapter.pay('po_ali_conflict', d, { amount, currency: 'CNY' })).toMatchObject({
          state: 'unknown',
          rawCode: 'PAYMENT_INFO_INCONSISTENCY',
        });
      expect(sim.paid().filter((p) => p.payoutId === 'po_ali_conflict')).toEqual([
        expect.objectContaining({ amount: 800, account: dest.account }),
      ]);
    });
  });

  describe('WeChat Pay', () => {
    let sim: WechatSimulator;
    let adapter: PayoutAdapter;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let keys: NotificationKeys;
    const dest: PayoutDestination = {
      kind: 'wechat',
      account: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      holderName: '王五',
    };
    const received = () => receiver.received.map((r) => ({ headers: r.headers, body: r.body }));

    beforeAll(async () => {
      receiver = await startReceiver();
      sim = await startWechatSimulator({
        settle: 'manual',
        notifyUrl: receiver.url,
        faults: { duplicateRate: 1 },
      });
      adapter = createWechatAdapter(sim.adapterConfig);
      keys = { ...sim.notificationKeys, maxSkewS: 300 };
    });
    afterAll(async () => {
      await adapter.close();
      await sim.close();
      await receiver.close();
    });

    it('the Authorization header has the v3 shape and round-trips', () => {
      const h = authorizationHeader({
        mchid: '1900',
        nonce_str: 'N1',
        signature: 'c2ln',
        timestamp: '1700000000',
        serial_no: 'S1',
      });
      expect(h).toBe(
        'WECHATPAY2-SHA256-RSA2048 mchid="1900",nonce_str="N1",signature="c2ln",timestamp="1700000000",serial_no="S1"',
      );
      expect(parseAuthorization(h)).toEqual({
        mchid: '1900',
        nonce_str: 'N1',
        signature: 'c2ln',
        timestamp: '1700000000',
        serial_no: 'S1',
      });
      expect(parseAuthorization(h.replace('WECHATPAY2', 'WECHATPAY3'))).toBeUndefined();
    });

    it('a request signed with another merchant key is refused: failed, nothing paid', async () => {
      const stray = createWechatAdapter({ ...sim.adapterConfig, merchantPrivateKey: rsaPair().privateKey });
      try {
        expect(await stray.pay('po_wx_badsig', dest, { amount: 500, currency: 'CNY' })).toMatchObject({
          state: 'failed',
          rawCode: 'SIGN_ERROR',
        });
        expect(sim.payCalls()).not.toHaveProperty('po_wx_badsig');
      } finally {
        await stray.close();
      }
    });

    it('the same out_bill_no with another amount is unknown and pays nothing more', async () => {
      expect((await adapter.pay('po_wx_conflict', dest, { amount: 700, currency: 'CNY' })).state).toBe(
        'accepted',
      );
      expect(await adapter.pay('po_wx_conflict', dest, { amount: 701, currency: 'CNY' })).toMatchObject({
        state: 'unknown',
        rawCode: 'OUT_BILL_NO_CONFLICT',
      });
      await sim.settle();
      expect(sim.paid().filter((p) => p.payoutId === 'po_wx_conflict')).toEqual([
        expect.objectContaining({ amount: 700 }),
      ]);
    });

    it('notifies the final state, duplicates included; each copy verifies to the same payout', async () => {
      receiver.received.length = 0;
      const accepted = await adapter.pay('po_wx_notify', dest, { amount: 1234, currency: 'CNY' });
      expect(accepted.state).toBe('accepted');
      await sim.settle();
      const copies = received();
      expect(copies.length).toBeGreaterThanOrEqual(2);
      expect(new Set(copies.map((c) => c.body)).size).toBe(1);
      const looked = await adapter.lookup('po_wx_notify');
      for (const c of copies) {
        const v = verifyNotification(c.headers, c.body, keys);
        expect(v).toMatchObject({
          ok: true,
          payoutId: 'po_wx_notify',
          state: 'paid',
          providerRef: looked.providerRef,
        });
      }
      expect(sim.paid().filter((p) => p.payoutId === 'po_wx_notify')).toHaveLength(1);
      expect(sim.notificationsSent()).toBeGreaterThanOrEqual(2);
    });

    it('a refused openid is notified as failed', async () => {
      receiver.received.length = 0;
      await adapter.pay(
        'po_wx_refused',
        { ...dest, account: WECHAT_REFUSED_OPENIDS[0] as string },
        { amount: 50, currency: 'CNY' },
      );
      await sim.settle();
      const [c] = received();
      expect(c && verifyNotification(c.headers, c.body, keys)).toMatchObject({ ok: true, state: 'failed' });
    });

    describe('verifyNotification refuses', () => {
      let genuine: { headers: Record<string, string | string[] | undefined>; body: string };
      beforeAll(async () => {
        receiver.received.length = 0;
        sim.setFaults({ duplicateRate: 0 });
        await adapter.pay('po_wx_verify', dest, { amount: 99, currency: 'CNY' });
        await sim.settle();
        genuine = received()[0] as typeof genuine;
        expect(verifyNotification(genuine.headers, genuine.body, keys).ok).toBe(true);
      });
      const ts = () => Number(genuine.headers['wechatpay-timestamp']);

      it('a tampered body or signature', () => {
        const body = genuine.body.replace('"event_type"', '"event_type" ');
        expect(verifyNotification(genuine.headers, body, keys)).toEqual({ ok: false, code: 'bad_signature' });
        const sig = String(genuine.headers['wechatpay-signature']);
        const flipped = {
          ...genuine.headers,
          'wechatpay-signature': `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`,
        };
        expect(verifyNotification(flipped, genuine.body, keys)).toEqual({ ok: false, code: 'bad_signature' });
        const otherKey = { ...keys, platformPublicKey: rsaPair().publicKey };
        expect(verifyNotification(genuine.headers, genuine.body, otherKey)).toEqual({
          ok: false,
          code: 'bad_signature',
        });
      });

      it('a stale (or future) timestamp, within the skew it passes', () => {
        expect(
          verifyNotification(genuine.headers, genuine.body, { ...keys, now: (ts() + 301) * 1000 }),
        ).toEqual({
          ok: false,
          code: 'stale_timestamp',
        });
        expect(
          verifyNotification(genuine.headers, genuine.body, { ...keys, now: (ts() - 301) * 1000 }).ok,
        ).toBe(false);
        expect(
          verifyNotification(genuine.headers, genuine.body, { ...keys, now: (ts() + 299) * 1000 }).ok,
        ).toBe(true);
      });

      it('a ciphertext that does not open with the APIv3 key', () => {
        expect(
          verifyNotification(genuine.headers, genuine.body, { ...keys, apiV3Key: 'k'.repeat(32) }),
        ).toEqual({
          ok: false,
          code: 'bad_ciphertext',
        });
        // Correctly signed, but the ciphertext was altered before signing (a forged resource).
        const platform = rsaPair();
        const parsed = JSON.parse(genuine.body) as { resource: { ciphertext: string } };
        const c = Buffer.from(parsed.resource.ciphertext, 'base64');
        c[0] = (c[0] ?? 0) ^ 1;
        parsed.resource.ciphertext = c.toString('base64');
        const body = JSON.stringify(parsed);
        const t = String(Math.floor(Date.now() / 1000));
        const headers = {
          'wechatpay-timestamp': t,
          'wechatpay-nonce': 'n0nce',
          'wechatpay-signature': rsaSign(platform.privateKey, `${t}\nn0nce\n${body}\n`),
          'wechatpay-serial': keys.platformSerialNo ?? '',
        };
        expect(verifyNotification(headers, body, { ...keys, platformPublicKey: platform.publicKey })).toEqual(
          {
            ok: false,
            code: 'bad_ciphertext',
          },
        );
        // The same forgery with the ciphertext intact opens: the check above is the ciphertext's.
        const intact = genuine.body;
        const h2 = {
          ...headers,
          'wechatpay-signature': rsaSign(platform.privateKey, `${t}\nn0nce\n${intact}\n`),
        };
        expect(verifyNotification(h2, intact, { ...keys, platformPublicKey: platform.publicKey }).ok).toBe(
          true,
        );
      });

      it('missing headers and a foreign platform serial', () => {
        const { 'wechatpay-nonce': _n, ...noNonce } = genuine.headers;
        expect(verifyNotification(noNonce, genuine.body, keys)).toEqual({
          ok: false,
          code: 'missing_headers',
        });
        expect(
          verifyNotification({ ...genuine.headers, 'wechatpay-serial': 'OTHER' }, genuine.body, keys),
        ).toEqual({
          ok: false,
          code: 'unknown_serial',
        });
      });

      it('AES-256-GCM resources round-trip and refuse another associated data', () => {
        const key = 'a'.repeat(32);
        const c = encryptResource(key, '{"x":1}', 'mch_payment', 'abcdefabcdef');
        expect(decryptResource(key, c, 'mch_payment', 'abcdefabcdef')).toBe('{"x":1}');
        expect(decryptResource(key, c, 'other', 'abcdefabcdef')).toBeUndefined();
        expect(decryptResource(key, c, 'mch_payment', 'abcdefabcdeX')).toBeUndefined();
      });
    });
  });

  describe('bank file', () => {
    let sim: BankSimulator;
    let adapter: PayoutAdapter;
    beforeAll(async () => {
      sim = await startBankSimulator();
      adapter = createBankFileAdapter({ endpoint: sim.url });
    });
    afterAll(async () => {
      await adapter.close();
      await sim.close();
    });
    const card = withCheckDigit('621700999900000001');
    const dest: PayoutDestination = { kind: 'bank_card', account: card, holderName: '钱七' };
    const putFile = (name: string, body: string) =>
      fetch(`${sim.url}/files/outgoing/${name}.csv`, {
        method: 'PUT',
        headers: { 'content-type': 'text/csv' },
        body,
      });

    it('a reference repeated in a later file is not paid twice', async () => {
      expect((await adapter.pay('po_bank_dup', dest, { amount: 4200, currency: 'CNY' })).state).toBe(
        'accepted',
      );
      expect((await adapter.lookup('po_bank_dup')).state).toBe('accepted');
      sim.publish();
      const line = `po_bank_dup,${card},钱七,4200,CNY`;
      expect(
        (await putFile('manual-batch-7', `reference,card_number,holder_name,amount,currency\n${line}\n`))
          .status,
      ).toBe(201);
      sim.publish();
      expect(sim.paid().filter((p) => p.payoutId === 'po_bank_dup')).toHaveLength(1);
      const ret = await (await fetch(`${sim.url}/files/returns/manual-batch-7.csv`)).text();
      expect(ret).toContain('po_bank_dup,PAID');
      expect(ret).toContain('DUPLICATE_REFERENCE');
      expect((await adapter.lookup('po_bank_dup')).state).toBe('paid');
    });

    it('the same payout id with another amount is unknown (the file name is taken), nothing more paid', async () => {
      await adapter.pay('po_bank_conflict', dest, { amount: 100, currency: 'CNY' });
      expect(await adapter.pay('po_bank_conflict', dest, { amount: 101, currency: 'CNY' })).toMatchObject({
        state: 'unknown',
        rawCode: 'FILE_NAME_TAKEN',
      });
      sim.publish();
      expect(sim.paid().filter((p) => p.payoutId === 'po_bank_conflict')).toEqual([
        expect.objectContaining({ amount: 100 }),
      ]);
    });

    it('a malformed card number is rejected in the return file; a bad file is refused', async () => {
      await adapter.pay(
        'po_bank_luhn',
        { ...dest, account: '6217000000000000000' },
        { amount: 100, currency: 'CNY' },
      );
      sim.publish();
      expect(await adapter.lookup('po_bank_luhn')).toMatchObject({
        state: 'failed',
        rawCode: 'INVALID_CARD',
      });
      expect((await putFile('bad', 'ref,card\nx,y\n')).status).toBe(400);
    });
  });

  describe('USDT', () => {
    let sim: UsdtSimulator;
    let adapter: PayoutAdapter;
    beforeAll(async () => {
      sim = await startUsdtSimulator();
      adapter = createUsdtAdapter({ ...sim.adapterConfig, confirmations: 3 });
    });
    afterAll(async () => {
      await adapter.close();
      await sim.close();
    });
    const trc: PayoutDestination = {
      kind: 'usdt',
      network: 'trc20',
      account: 'TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC',
      holderName: 'H',
    };
    const rpc = async (method: string, params: unknown) =>
      (await (
        await fetch(`${sim.url}/rpc`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${sim.adapterConfig.apiKey}`,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
      ).json()) as { result?: Record<string, unknown>; error?: { code: number } };

    it('is accepted until N confirmations, then paid with the count', async () => {
      const a = await adapter.pay('po_usdt_conf', trc, { amount: 25_000_000, currency: 'USDT' });
      expect(a).toMatchObject({ state: 'accepted', confirmations: 0 });
      expect(a.providerRef).toMatch(/^[0-9a-f]{64}$/);
      sim.mine(2);
      expect(await adapter.lookup('po_usdt_conf')).toMatchObject({ state: 'accepted', confirmations: 2 });
      await post(`${sim.url}/__sim/mine`);
      expect(await adapter.lookup('po_usdt_conf')).toMatchObject({
        state: 'paid',
        confirmations: 3,
        providerRef: a.providerRef,
      });
      expect(sim.paid()).toContainEqual(
        expect.objectContaining({ payoutId: 'po_usdt_conf', amount: 25_000_000, currency: 'USDT' }),
      );
    });

    it('the simulator validates TRC20 and ERC20 addresses', async () => {
      const good = { trc20: trc.account, erc20: `0x${'aB'.repeat(20)}` };
      const bad = {
        trc20: [
          'TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDe',
          'TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDe0',
          'AJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC',
          good.erc20,
        ],
        erc20: [`0x${'a'.repeat(39)}`, `0x${'g'.repeat(40)}`, `${'a'.repeat(42)}`, good.trc20],
      };
      for (const network of ['trc20', 'erc20'] as const) {
        const ok = await rpc('transfer', {
          request_id: `po_addr_${network}`,
          to: good[network],
          amount: '1',
          network,
        });
        expect(ok.result?.tx_hash, network).toBeTruthy();
        for (const [i, to] of bad[network].entries()) {
          const r = await rpc('transfer', {
            request_id: `po_addr_${network}_${i}`,
            to,
            amount: '1',
            network,
          });
          expect(r.error?.code, `${network} ${to}`).toBe(1001);
        }
      }
      expect(
        await adapter.pay('po_usdt_bad', { ...trc, account: 'TNOPE' }, { amount: 1, currency: 'USDT' }),
      ).toMatchObject({
        state: 'failed',
        rawCode: '1001',
      });
      expect(
        sim
          .paid()
          .map((p) => p.payoutId)
          .filter((id) => id.startsWith('po_addr_')),
      ).toEqual(['po_addr_trc20', 'po_addr_erc20']);
    });

    it('amounts are integer micro-USDT strings; a conflict or a wrong key pays nothing', async () => {
      expect(
        (await rpc('transfer', { request_id: 'po_usdt_f', to: trc.account, amount: '1.5', network: 'trc20' }))
          .error?.code,
      ).toBe(-32602);
      await adapter.pay('po_usdt_c', trc, { amount: 10, currency: 'USDT' });
      expect(await adapter.pay('po_usdt_c', trc, { amount: 11, currency: 'USDT' })).toMatchObject({
        state: 'unknown',
        rawCode: '1002',
      });
      const stray = createUsdtAdapter({ ...sim.adapterConfig, apiKey: 'wrong' });
      try {
        expect(await stray.pay('po_usdt_k', trc, { amount: 10, currency: 'USDT' })).toMatchObject({
          state: 'failed',
          rawCode: '-32001',
        });
      } finally {
        await stray.close();
      }
      expect(sim.paid().filter((p) => p.payoutId === 'po_usdt_c')).toEqual([
        expect.objectContaining({ amount: 10 }),
      ]);
      expect(sim.payCalls()).not.toHaveProperty('po_usdt_k');
      expect(sim.payCalls()).not.toHaveProperty('po_usdt_f');
    });
  });
});
