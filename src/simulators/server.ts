import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { SimCard } from './card-base.js';
import {
  drawFault,
  type Fault,
  FaultPatch,
  type FaultSettings,
  latencyOf,
  NO_FAULTS,
  type SimOperation,
} from './faults.js';
import { IssuerBook } from './issuer-book.js';

/** One answer of a protocol server, already encoded. */
export interface Rendered {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** How a protocol renders one call: the normal answer (which may change the book) and its trouble. */
export interface CallRendering {
  normal(): Rendered;
  /** The issuer's "I failed" answer. */
  error(): Rendered;
  /** The issuer's ambiguous code. */
  ambiguous(): Rendered;
}

export interface SimulatorOptions {
  issuer: string;
  cards: SimCard[];
  faults?: Partial<FaultSettings>;
  random?: () => number;
  host?: string;
}

/** A running simulated issuer. */
export interface Simulator {
  issuer: string;
  protocol: string;
  url: string;
  book: IssuerBook;
  faults: FaultSettings;
  setFaults(patch: FaultPatch): void;
  close(): Promise<void>;
}

export interface SimulatorBase {
  app: FastifyInstance;
  book: IssuerBook;
  settings: { faults: FaultSettings };
  /** Answers one call through the fault switches. */
  answer(reply: FastifyReply, op: SimOperation, rendering: CallRendering): Promise<void>;
}

/**
 * The parts every simulated issuer shares: a Fastify server, the book, the fault switches and the
 * control routes under /__sim (faults, cards, stats) used by tests, the demo and `recard simulate`.
 */
export function createSimulatorBase(options: SimulatorOptions): SimulatorBase {
  const random = options.random ?? Math.random;
  const book = new IssuerBook(options.issuer, options.cards);
  const settings = { faults: { ...NO_FAULTS, ...options.faults } };
  // forceCloseConnections: a hanging "timeout" answer must not hold the server open at close.
  // Strict control API: an unknown or mistyped switch is refused, not dropped or coerced.
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 16 * 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.get('/__sim/faults', async () => settings.faults);
  app.put('/__sim/faults', { schema: { body: FaultPatch } }, async (req) => {
    settings.faults = { ...settings.faults, ...(req.body as FaultPatch) };
    return settings.faults;
  });
  app.get('/__sim/cards', async () => ({ issuer: options.issuer, cards: options.cards }));
  app.get('/__sim/stats', async () => book.stats);

  const answer = (reply: FastifyReply, op: SimOperation, rendering: CallRendering) =>
    answerThroughFaults(reply, settings.faults, op, rendering, random, 'redeem');

  return { app, book, settings, answer };
}

export async function listen(app: FastifyInstance, port = 0, host = '127.0.0.1'): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('simulator has no TCP address');
  return `http://${host}:${address.port}`;
}

export function simulatorHandle(
  base: SimulatorBase,
  protocol: string,
  issuer: string,
  url: string,
): Simulator {
  return {
    issuer,
    protocol,
    url,
    book: base.book,
    get faults() {
      return base.settings.faults;
    },
    setFaults(patch) {
      base.settings.faults = { ...base.settings.faults, ...patch };
    },
    close: () => base.app.close(),
  };
}

/**
 * Answers one call of any simulator through its fault switches: latency, then at most one fault.
 * A timeout of `halfCarried` (the operation that changes something: a redeem, a payout) is carried
 * out first half the time, so the caller cannot know whether it happened; reads always are.
 */
export async function answerThroughFaults(
  reply: FastifyReply,
  faults: FaultSettings,
  op: SimOperation,
  rendering: CallRendering,
  random: () => number,
  halfCarried: SimOperation,
): Promise<void> {
  const fault: Fault = drawFault(faults, op, random);
  const delay = latencyOf(faults, random);
  if (delay > 0) await sleep(delay);
  if (fault === 'reset') {
    reply.hijack();
    reply.raw.socket?.resetAndDestroy();
    return;
  }
  if (fault === 'timeout') {
    if (op !== halfCarried || random() < 0.5) rendering.normal();
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
