import type { IssuerProtocol } from '../src/adapters/issuers/port.js';
import { SIM_FORMATS } from '../src/simulators/card-base.js';
import { SIM_APP_ID, SIM_ISSUERS, simAppSecret, simEndpoint } from '../src/simulators/index.js';
import { startProcess } from './processes.js';

/**
 * The simulated issuers in a process of their own (`recard simulate`), as the benches that measure
 * the server's CPU need them: in the server's process they would be counted in it.
 */
export async function startSimulatorProcess(options: {
  port: number;
  seed: string;
  latencyMs: number;
  validPerType: number;
  nodeFlags?: string[];
}): Promise<void> {
  await startProcess(
    [
      ...(options.nodeFlags ?? []),
      'bin/recard.js',
      'simulate',
      '--port',
      String(options.port),
      '--seed',
      options.seed,
      '--latency-ms',
      String(options.latencyMs),
      '--valid-per-type',
      String(options.validPerType),
    ],
    {},
    /(\d+) cards \(seed/,
  );
}

/** Routes each card type to the simulators' process, as an operator would (admin API). */
export async function routeToSimulators(options: {
  url: string;
  adminToken: string;
  cardTypes: readonly string[];
  port: number;
  seed: string;
}): Promise<void> {
  const issuers = Object.keys(SIM_ISSUERS);
  for (const cardType of options.cardTypes) {
    const issuer = SIM_FORMATS[cardType]?.issuer as string;
    const protocol = SIM_ISSUERS[issuer] as IssuerProtocol;
    const endpoint = simEndpoint(protocol, `http://127.0.0.1:${options.port + issuers.indexOf(issuer)}`);
    const res = await fetch(`${options.url}/admin/v1/issuer-routes/bench_${cardType}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        card_type: cardType,
        issuer,
        protocol,
        endpoint,
        priority: 1,
        capacity_per_minute: 1_000_000,
        timeout_ms: 3000,
        max_concurrency: 128,
        poll_ms: 1000,
        enabled: true,
        ...(protocol === 'rest'
          ? { app_id: SIM_APP_ID, app_secret: simAppSecret(options.seed, issuer) }
          : {}),
      }),
    });
    if (res.status !== 200) throw new Error(`route ${cardType}: ${res.status} ${await res.text()}`);
  }
}
