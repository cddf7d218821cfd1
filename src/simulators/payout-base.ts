import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { FaultPatch, type FaultSettings, NO_FAULTS } from './faults.js';
import { type PaidEntry, PayoutLedger } from './payout-ledger.js';
import { answerThroughFaults, type CallRendering } from './server.js';

/**
 * How a payout simulator renders one call: the normal answer (which may pay), the provider's "I
 * failed" (HTTP 5xx, nothing done) and its "result unknown" business answer (nothing done).
 */
export type PayoutRendering = CallRendering;

export interface PayoutSimulatorOptions {
  faults?: Partial<FaultSettings>;
  random?: () => number;
  host?: string;
  port?: number;
}

/** A running simulated payout provider. */
export interface PayoutSimulator {
  provider: string;
  url: string;
  readonly faults: FaultSettings;
  setFaults(patch: FaultPatch): void;
  /** What it actually paid, one entry per payout id. */
  paid(): PaidEntry[];
  /** Pay requests per payout id that reached the provider's logic. */
  payCalls(): Record<string, number>;
  /** Pay requests that arrived for an id already paid (a caller that resent what had gone through). */
  payRequestsAfterPaid(): number;
  close(): Promise<void>;
}

export interface PayoutSimBase {
  app: FastifyInstance;
  ledger: PayoutLedger;
  settings: { faults: FaultSettings };
  random: () => number;
  /** Answers one call through the fault switches. */
  answer(reply: FastifyReply, op: 'pay' | 'lookup', rendering: PayoutRendering): Promise<void>;
  /** Extra control routes register `tamper` here (signed protocols). */
  onTamper(handler: (on: boolean) => void): void;
}

/**
 * What every payout simulator shares: a strict Fastify server, the ledger, the issuers' fault
 * switches (faults.ts) and the control routes under /__sim (faults, payouts, tamper).
 */
export function createPayoutSimBase(options: PayoutSimulatorOptions): PayoutSimBase {
  const random = options.random ?? Math.random;
  const ledger = new PayoutLedger();
  const settings = { faults: { ...NO_FAULTS, ...options.faults } };
  let tamper: ((on: boolean) => void) | undefined;
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.get('/__sim/faults', async () => settings.faults);
  app.put('/__sim/faults', { schema: { body: FaultPatch } }, async (req) => {
    settings.faults = { ...settings.faults, ...(req.body as FaultPatch) };
    return settings.faults;
  });
  app.get('/__sim/payouts', async () => ledger.view());
  app.put(
    '/__sim/tamper',
    { schema: { body: Type.Object({ on: Type.Boolean() }, { additionalProperties: false }) } },
    async (req, reply) => {
      if (!tamper) return reply.code(404).send({ message: 'this protocol signs no answers' });
      const { on } = req.body as { on: boolean };
      tamper(on);
      return { on };
    },
  );

  const answer = (reply: FastifyReply, op: 'pay' | 'lookup', rendering: PayoutRendering) =>
    answerThroughFaults(reply, settings.faults, op, rendering, random, 'pay');

  return {
    app,
    ledger,
    settings,
    random,
    answer,
    onTamper(handler) {
      tamper = handler;
    },
  };
}

export async function listenPayoutSim(base: PayoutSimBase, options: PayoutSimulatorOptions): Promise<string> {
  await base.app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = base.app.server.address();
  if (!address || typeof address === 'string') throw new Error('simulator has no TCP address');
  return `http://${options.host ?? '127.0.0.1'}:${address.port}`;
}

export function payoutSimHandle(base: PayoutSimBase, provider: string, url: string): PayoutSimulator {
  return {
    provider,
    url,
    get faults() {
      return base.settings.faults;
    },
    setFaults(patch) {
      base.settings.faults = { ...base.settings.faults, ...patch };
    },
    paid: () => base.ledger.paid(),
    payCalls: () => base.ledger.payCalls(),
    payRequestsAfterPaid: () => base.ledger.requestsAfterPaid(),
    close: () => base.app.close(),
  };
}
