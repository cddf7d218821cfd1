import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchFileAdapter } from '../../src/adapters/issuers/batch-file/adapter.js';
import {
  createJsonRpcAdapter,
  type JsonRpcIssuerAdapter,
} from '../../src/adapters/issuers/jsonrpc/adapter.js';
import { type IssuerAdapter, IssuerCallError, type IssuerCard } from '../../src/adapters/issuers/port.js';
import { createRestAdapter } from '../../src/adapters/issuers/rest/adapter.js';
import { createSoapAdapter } from '../../src/adapters/issuers/soap/adapter.js';
import { startBatchFileSimulator } from '../../src/simulators/batch-file-supermarket.js';
import { generateCardBase, type SimCard, type SimCardLabel } from '../../src/simulators/card-base.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { startSimulators } from '../../src/simulators/index.js';
import { startTelecomSimulator } from '../../src/simulators/jsonrpc-telecom.js';
import { startEcardSimulator } from '../../src/simulators/rest-ecard.js';
import type { Simulator } from '../../src/simulators/server.js';
import { startBossSimulator } from '../../src/simulators/soap-boss.js';

/**
 * The one contract every issuer adapter meets, run against each adapter paired with its simulator
 * (docs/architecture.md#processes-and-storage). Raw codes differ per protocol; what they mean is the mapping table's business.
 */
interface Pair {
  name: string;
  cardType: string;
  issuer: string;
  start(cards: SimCard[]): Promise<{ sim: Simulator; adapter: IssuerAdapter; settle?: () => void }>;
  codes: {
    ok: string;
    used: string;
    expired: string;
    unactivated: string;
    unknown: string;
    wrongSecret?: string;
    ambiguous: string;
  };
  /** Refusal code of a redeem of an already used card. */
  usedOnRedeem: string;
}

const pairs: Pair[] = [
  {
    name: 'SOAP 1.1 (BOSS)',
    cardType: 'cmcc_national',
    issuer: 'china_mobile',
    async start(cards) {
      const sim = await startBossSimulator({ issuer: 'china_mobile', cards });
      return { sim, adapter: createSoapAdapter({ endpoint: `${sim.url}/boss/CardService` }) };
    },
    codes: {
      ok: '0000',
      used: '1003',
      expired: '1004',
      unactivated: '1005',
      unknown: '1001',
      wrongSecret: '1002',
      ambiguous: '9003',
    },
    usedOnRedeem: '1003',
  },
  {
    name: 'JSON-RPC 2.0 (Telecom)',
    cardType: 'telecom_national',
    issuer: 'china_telecom',
    async start(cards) {
      const sim = await startTelecomSimulator({ issuer: 'china_telecom', cards });
      return { sim, adapter: createJsonRpcAdapter({ endpoint: `${sim.url}/rpc` }) };
    },
    codes: {
      ok: '0',
      used: '40901',
      expired: '41001',
      unactivated: '41002',
      unknown: '40401',
      wrongSecret: '40301',
      ambiguous: '40099',
    },
    usedOnRedeem: '40901',
  },
  {
    name: 'signed REST (E-card)',
    cardType: 'jd_ecard',
    issuer: 'jd',
    async start(cards) {
      const sim = await startEcardSimulator({ issuer: 'jd', cards, apps: { app1: 'secret-1' } });
      return { sim, adapter: createRestAdapter({ endpoint: sim.url, appId: 'app1', appSecret: 'secret-1' }) };
    },
    codes: {
      ok: 'SUCCESS',
      used: 'CARD_USED',
      expired: 'CARD_EXPIRED',
      unactivated: 'CARD_INACTIVE',
      unknown: 'CARD_NOT_FOUND',
      wrongSecret: 'PASSWORD_ERROR',
      ambiguous: 'CARD_FROZEN',
    },
    usedOnRedeem: 'CARD_USED',
  },
  {
    name: 'daily batch file (supermarket)',
    cardType: 'supermarket_gift',
    issuer: 'supermarket_chain',
    async start(cards) {
      const sim = await startBatchFileSimulator({ issuer: 'supermarket_chain', cards });
      return {
        sim,
        adapter: createBatchFileAdapter({ endpoint: sim.url, stateCacheMs: 0 }),
        settle: () => sim.publish(),
      };
    },
    // A state file carries no secrets: a wrong secret shows only when the claim is refused.
    codes: {
      ok: 'ACTIVE',
      used: 'USED',
      expired: 'EXPIRED',
      unactivated: 'INACTIVE',
      unknown: 'NOT_IN_STATE_FILE',
      ambiguous: 'LOCKED',
    },
    usedOnRedeem: 'CARD_USED',
  },
];

for (const pair of pairs) {
  describe(`issuer adapter contract: ${pair.name}`, () => {
    let sim: Simulator;
    let adapter: IssuerAdapter;
    let settle: (() => void) | undefined;
    const cards = generateCardBase({ seed: `contract-${pair.name}`, cardTypes: [pair.cardType] });
    const pool = new Map<SimCardLabel, SimCard[]>();
    for (const c of cards) pool.set(c.label, [...(pool.get(c.label) ?? []), c]);
    /** Each test takes fresh cards: redeeming changes the book. */
    const take = (label: SimCardLabel): IssuerCard & { card: SimCard } => {
      const card = pool.get(label)?.shift();
      if (!card) throw new Error(`no ${label} card left`);
      return { cardType: card.cardType, number: card.number, secret: card.secret, card };
    };
    const errorOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        return err;
      }
      throw new Error('expected the call to fail');
    };

    /** Redeems and, for issuers that confirm later, lets the issuer publish and looks the claim up. */
    async function redeemToEnd(card: IssuerCard, rid: string) {
      const first = await adapter.redeem(card, rid);
      if (first.outcome === 'done')
        return { rawCode: first.rawCode, amount: first.amount, redeemed: first.rawCode === pair.codes.ok };
      expect(first.outcome).toBe('pending');
      expect((await adapter.lookup(rid, card)).state).toBe('pending');
      settle?.();
      const looked = await adapter.lookup(rid, card);
      return { rawCode: looked.rawCode, amount: looked.amount, redeemed: looked.state === 'redeemed' };
    }

    beforeAll(async () => {
      ({ sim, adapter, settle } = await pair.start(cards));
    });
    afterAll(async () => {
      await adapter.close();
      await sim.close();
    });

    it('inquires a valid card: the success code, face value, balance, expiry', async () => {
      const c = take('valid');
      const r = await adapter.inquire(c);
      expect(r).toMatchObject({
        rawCode: pair.codes.ok,
        faceValue: c.card.faceValue,
        balance: c.card.faceValue,
        expiresOn: c.card.expiresOn,
      });
    });

    it('inquiry tells used, expired, unactivated and unknown cards apart', async () => {
      expect((await adapter.inquire(take('used'))).rawCode).toBe(pair.codes.used);
      expect((await adapter.inquire(take('expired'))).rawCode).toBe(pair.codes.expired);
      expect((await adapter.inquire(take('unactivated'))).rawCode).toBe(pair.codes.unactivated);
      const valid = take('valid');
      expect(
        (
          await adapter.inquire({
            ...valid,
            number:
              `${valid.number.slice(0, -2)}00` === valid.number
                ? `${valid.number.slice(0, -2)}11`
                : `${valid.number.slice(0, -2)}00`,
          })
        ).rawCode,
      ).toBe(pair.codes.unknown);
    });

    it('a wrong secret is reported where the protocol can tell', async () => {
      const c = take('valid');
      const wrong = { ...c, secret: c.secret.replace(/.$/, (d) => (d === '1' ? '2' : '1')) };
      if (pair.codes.wrongSecret) expect((await adapter.inquire(wrong)).rawCode).toBe(pair.codes.wrongSecret);
      else {
        const r = await redeemToEnd(wrong, `rdm_wrong_${Date.now()}`);
        expect(r).toMatchObject({ redeemed: false, rawCode: 'PASSWORD_ERROR' });
      }
    });

    it('inquiry consumes nothing, however often repeated', async () => {
      const c = take('valid');
      for (let i = 0; i < 3; i++) expect((await adapter.inquire(c)).rawCode).toBe(pair.codes.ok);
      expect(sim.book.stats.redeemed).toBe(0);
    });

    it('redeems a valid card once; lookup then says redeemed with the amount', async () => {
      const c = take('valid');
      const rid = `rdm_ok_${c.number}`;
      const r = await redeemToEnd(c, rid);
      expect(r.redeemed).toBe(true);
      expect(r.amount).toBe(c.card.faceValue);
      expect(await adapter.lookup(rid, c)).toMatchObject({ state: 'redeemed', amount: c.card.faceValue });
      expect(sim.book.redemptionsPerCard().get(c.number)).toBe(1);
      // A later inquiry sees the card used.
      expect((await adapter.inquire(c)).rawCode).toBe(pair.codes.used);
    });

    it('a redeem of a used card is refused with the issuer code', async () => {
      const c = take('used');
      const r = await redeemToEnd(c, `rdm_used_${c.number}`);
      expect(r).toMatchObject({ redeemed: false, rawCode: pair.usedOnRedeem });
    });

    it('lookup of a redemption the issuer never saw says not_redeemed', async () => {
      const c = take('valid');
      expect((await adapter.lookup('rdm_never_sent', c)).state).toBe('not_redeemed');
    });

    it('issuer failure is an unavailable error', async () => {
      sim.setFaults({ errorRate: 1 });
      try {
        const err = await errorOf(adapter.inquire(take('valid')));
        expect(err).toBeInstanceOf(IssuerCallError);
        expect((err as IssuerCallError).kind).toBe('unavailable');
        expect((err as IssuerCallError).transient).toBe(true);
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    });

    it('a reset connection is a connection error', async () => {
      sim.setFaults({ resetRate: 1 });
      try {
        const err = await errorOf(adapter.inquire(take('valid')));
        expect((err as IssuerCallError).kind).toBe('connection');
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    });

    it('a garbled answer is a malformed error, never a guess', async () => {
      sim.setFaults({ malformedRate: 1 });
      try {
        const err = await errorOf(adapter.inquire(take('valid')));
        expect((err as IssuerCallError).kind).toBe('malformed');
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    });

    it('a silent issuer is cut off by the caller signal as a timeout', async () => {
      sim.setFaults({ timeoutRate: 1, hangMs: 5000 });
      try {
        const started = Date.now();
        const err = await errorOf(adapter.inquire(take('valid'), { signal: AbortSignal.timeout(150) }));
        expect((err as IssuerCallError).kind).toBe('timeout');
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    });

    it('the ambiguous code comes back raw', async () => {
      sim.setFaults({ ambiguousRate: 1, operations: ['inquire'] });
      try {
        expect((await adapter.inquire(take('valid'))).rawCode).toBe(pair.codes.ambiguous);
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    });
  });
}

describe('protocol specifics', () => {
  it('every simulator takes fault switches over HTTP and refuses bad ones', async () => {
    const sims = await startSimulators({ seed: 'control' });
    try {
      for (const [issuer, sim] of sims.byIssuer) {
        const put = (body: unknown) =>
          fetch(`${sim.url}/__sim/faults`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        const ok = await put({ latencyMs: 5, operations: ['redeem'] });
        expect(ok.status, issuer).toBe(200);
        expect(sim.faults).toMatchObject({ latencyMs: 5, operations: ['redeem'] });
        expect((await put({ errorRate: 2 })).status, issuer).toBe(400);
        expect((await put({ nonsense: 1 })).status, issuer).toBe(400);
        const cards = (await (await fetch(`${sim.url}/__sim/cards`)).json()) as { cards: unknown[] };
        expect(cards.cards.length, issuer).toBeGreaterThan(0);
      }
    } finally {
      await sims.close();
    }
  });

  it('the BOSS simulator serves a WSDL naming the three operations and its address', async () => {
    const sim = await startBossSimulator({ issuer: 'china_mobile', cards: [] });
    try {
      const res = await fetch(`${sim.url}/boss/CardService?wsdl`);
      const text = await res.text();
      expect(res.headers.get('content-type')).toContain('text/xml');
      for (const op of ['QueryCard', 'RechargeCard', 'QueryTrans'])
        expect(text).toContain(`<operation name="${op}">`);
      expect(text).toContain(`location="${sim.url}/boss/CardService"`);
    } finally {
      await sim.close();
    }
  });

  it('JSON-RPC lookups go out as one batch and come back in order', async () => {
    const cards = generateCardBase({ seed: 'batch', cardTypes: ['telecom_national'] });
    const sim = await startTelecomSimulator({ issuer: 'china_telecom', cards });
    const adapter: JsonRpcIssuerAdapter = createJsonRpcAdapter({ endpoint: `${sim.url}/rpc` });
    try {
      const valid = cards.filter((c) => c.label === 'valid').slice(0, 2);
      for (const [i, c] of valid.entries()) await adapter.redeem(c, `rdm_b${i}`);
      const before = sim.book.stats.lookups;
      const out = await adapter.lookupMany(['rdm_b0', 'rdm_none', 'rdm_b1']);
      expect(out.map((o) => o.state)).toEqual(['redeemed', 'not_redeemed', 'redeemed']);
      expect(sim.book.stats.lookups - before).toBe(3);
      // The raw protocol: a batch with one bad call answers that call with an error object.
      const raw = await fetch(`${sim.url}/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'card.nope', params: {} },
          { jsonrpc: '2.0', id: 2, method: 'card.queryRecharge', params: { orderNo: 'rdm_b0' } },
        ]),
      });
      const body = (await raw.json()) as { id: number; error?: { code: number } }[];
      expect(body.find((b) => b.id === 1)?.error?.code).toBe(-32601);
      expect(body.find((b) => b.id === 2)).toHaveProperty('result');
    } finally {
      await adapter.close();
      await sim.close();
    }
  });

  it('a REST call with a wrong app secret is rejected, not retried as trouble', async () => {
    const sim = await startEcardSimulator({ issuer: 'jd', cards: [], apps: { app1: 'right' } });
    const adapter = createRestAdapter({ endpoint: sim.url, appId: 'app1', appSecret: 'wrong' });
    try {
      const err = await adapter
        .inquire({ cardType: 'jd_ecard', number: 'JDV1', secret: 'x' })
        .catch((e) => e);
      expect(err).toBeInstanceOf(IssuerCallError);
      expect(err).toMatchObject({ kind: 'rejected', rawCode: 'SIGN_INVALID' });
      expect(err.transient).toBe(false);
      expect(sim.book.stats.inquiries).toBe(0);
    } finally {
      await adapter.close();
      await sim.close();
    }
  });
});
