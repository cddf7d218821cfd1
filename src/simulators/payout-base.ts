import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { drawFault, FaultPatch, type FaultSettings, latencyOf, NO_FAULTS } from './faults.js';
import { type PaidEntry, PayoutLedger } from './payout-ledger.js';
import type { Rendered } from './server.js';

/** How a payout simulator renders one call: the normal answer (which may pay) and its trouble. */
export interface PayoutRendering {
  normal(): Rendered;
  /** The provider's "I failed" answer (HTTP 5xx); nothing is done. */
  error(): Rendered;
  /** The provider's "result unknown" business answer; nothing is done. */
  ambiguous(): Rendered;
}

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

  async function answer(reply: FastifyReply, op: 'pay' | 'lookup', rendering: PayoutRendering) {
    const faults = settings.faults;
    const fault = drawFault(faults, op, random);
    const delay = latencyOf(faults, random);
    if (delay > 0) await sleep(delay);
    if (fault === 'reset') {
      reply.hijack();
      reply.raw.socket?.resetAndDestroy();
      return;
    }
    if (fault === 'timeout') {
      // Half the payouts that time out were carried out first: the caller cannot tell which.
      if (op === 'pay' && random() < 0.5) rendering.normal();
      reply.hijack();
      await sleep(faults.hangMs);
      reply.raw.destroy();
      return;
    }
    let out: Rendered;
    if (fault === 'error') out = rendering.error();
    else if (fault === 'ambiguous') out = rendering.ambiguous();
    else out = rendering.normal();
    let body = out.body;
    if (fault === 'malformed') body = `${body.slice(0, Math.floor(body.length / 2))}\u0000<<garbled`;
    reply.code(out.status).type(out.contentType);
    if (out.headers) reply.headers(out.headers);
    await reply.send(body);
  }

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
