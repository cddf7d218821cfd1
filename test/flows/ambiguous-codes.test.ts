import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeCardTypesTo } from '../../src/main/demo.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SimulatorSet, startSimulators } from '../../src/simulators/index.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { settledOrder, submitCard } from '../harness/sim-orders.js';
import { storageTargets } from '../harness/storage.js';

/**
 * Every issuer's ambiguous code, written out here apart from the seed: one code, several meanings.
 * Each must send the order to a person, never to a definite refusal or a redemption.
 */
const AMBIGUOUS: [issuer: string, cardType: string, rawCode: string][] = [
  ['china_mobile', 'cmcc_national', '9003'],
  ['china_unicom', 'unicom_national', '9003'],
  ['china_telecom', 'telecom_guangdong', '40099'],
  ['jd', 'jd_ecard', 'CARD_FROZEN'],
  ['sinopec', 'sinopec_fuel', 'CARD_FROZEN'],
  ['supermarket_chain', 'supermarket_gift', 'LOCKED'],
];

describe.each(storageTargets())('ambiguous issuer codes on $name', (target) => {
  let t: TestServer;
  let sims: SimulatorSet;
  let serial = 0;

  beforeAll(async () => {
    sims = await startSimulators({ seed: `ambiguous-${target.name}`, perLabel: { valid: 3 } });
    t = await startTestServer(target);
    await routeCardTypesTo(t.ctx, sims, { pollMs: 100, timeoutMs: 400 });
  });
  afterAll(async () => {
    await t.stop();
    await sims.close();
  });

  it('every seeded ambiguous code is listed as ambiguous (no reason) in the mapping table', async () => {
    for (const [issuer, , raw] of AMBIGUOUS) {
      const row = await t.ctx.storage.db
        .selectFrom('issuer_codes')
        .selectAll()
        .where('issuer', '=', issuer)
        .where('raw_code', '=', raw)
        .executeTakeFirst();
      expect(row, `${issuer} ${raw}`).toBeDefined();
      expect(row?.reason, `${issuer} ${raw}`).toBeNull();
    }
  });

  it.each(AMBIGUOUS)(
    '%s answering %s… sends the order to review with the raw code; nothing is redeemed',
    async (issuer, cardType, raw) => {
      const sim = sims.byIssuer.get(issuer);
      if (!sim) throw new Error(`no simulator for ${issuer}`);
      sim.setFaults({ ambiguousRate: 1, operations: ['inquire'] });
      try {
        const ch = await t.createChannel({ name: `Shop ${++serial}` });
        const card = sims.cards.find((c) => c.cardType === cardType && c.label === 'valid');
        if (!card) throw new Error(`no ${cardType} card`);
        const id = await submitCard(ch.client, card, `amb-${serial}`);
        const o = await settledOrder(ch.client, id);
        expect(o).toMatchObject({ status: 'review', reason: 'ambiguous_code', raw_code: raw });
        expect(sim.book.redemptionsPerCard().get(card.number)).toBeUndefined();
      } finally {
        sim.setFaults(NO_FAULTS);
      }
    },
  );
});
