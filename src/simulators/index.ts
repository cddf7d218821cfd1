import { createHash } from 'node:crypto';
import type { IssuerProtocol } from '../adapters/issuers/port.js';
import { startBatchFileSimulator } from './batch-file-supermarket.js';
import { generateCardBase, issuersOf, type SimCard } from './card-base.js';
import type { FaultSettings } from './faults.js';
import { startTelecomSimulator } from './jsonrpc-telecom.js';
import { startEcardSimulator } from './rest-ecard.js';
import type { Simulator } from './server.js';
import { startBossSimulator } from './soap-boss.js';

/** Which protocol each simulated issuer speaks (docs/architecture.md#what-recard-does: operators and issuers differ). */
export const SIM_ISSUERS: Record<string, IssuerProtocol> = {
  china_mobile: 'soap',
  china_unicom: 'soap',
  china_telecom: 'jsonrpc',
  jd: 'rest',
  sinopec: 'rest',
  supermarket_chain: 'batch_file',
};

/** Where a simulator of this protocol serves its API, given its base URL. */
export function simEndpoint(protocol: IssuerProtocol, url: string): string {
  if (protocol === 'soap') return `${url}/boss/CardService`;
  if (protocol === 'jsonrpc') return `${url}/rpc`;
  return url;
}

export const SIM_APP_ID = 'recard';
/** The REST simulators' app secret, derived from the seed so demo routes can be written without asking. */
export function simAppSecret(seed: string, issuer: string): string {
  return createHash('sha256').update(`app-secret:${seed}:${issuer}`).digest('hex').slice(0, 32);
}

export interface SimulatorSet {
  seed: string;
  cards: SimCard[];
  byIssuer: Map<string, Simulator & { publish?: () => number }>;
  close(): Promise<void>;
}

export interface StartSimulatorsOptions {
  seed: string;
  faults?: Partial<FaultSettings>;
  /** First port; issuers take consecutive ports in SIM_ISSUERS order. 0: random ports. */
  basePort?: number;
  host?: string;
  /** Batch-file issuer's publication period (0: only on POST /__sim/publish). */
  publishEveryMs?: number;
  perLabel?: Parameters<typeof generateCardBase>[0]['perLabel'];
  issuers?: string[];
  /** The card base to serve instead of the one generated from the seed (the risk replay brings its own). */
  cards?: SimCard[];
}

/** Starts every simulated issuer over one seeded card base. */
export async function startSimulators(options: StartSimulatorsOptions): Promise<SimulatorSet> {
  const cards =
    options.cards ??
    generateCardBase({
      seed: options.seed,
      ...(options.perLabel ? { perLabel: options.perLabel } : {}),
    });
  const grouped = issuersOf(cards);
  const byIssuer = new Map<string, Simulator & { publish?: () => number }>();
  const started: Simulator[] = [];
  try {
    let i = 0;
    for (const [issuer, protocol] of Object.entries(SIM_ISSUERS)) {
      const port = options.basePort ? options.basePort + i : 0;
      i++;
      if (options.issuers && !options.issuers.includes(issuer)) continue;
      const common = {
        issuer,
        cards: grouped.get(issuer) ?? [],
        port,
        ...(options.faults ? { faults: options.faults } : {}),
      };
      let sim: Simulator & { publish?: () => number };
      if (protocol === 'soap') sim = await startBossSimulator(common);
      else if (protocol === 'jsonrpc') sim = await startTelecomSimulator(common);
      else if (protocol === 'rest')
        sim = await startEcardSimulator({
          ...common,
          apps: { [SIM_APP_ID]: simAppSecret(options.seed, issuer) },
        });
      else sim = await startBatchFileSimulator({ ...common, publishEveryMs: options.publishEveryMs ?? 0 });
      started.push(sim);
      byIssuer.set(issuer, sim);
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.close()));
    throw err;
  }
  return {
    seed: options.seed,
    cards,
    byIssuer,
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}
