import type { IssuerProtocol } from '../adapters/issuers/port.js';
import { DEFAULT_SEED, SIM_FORMATS } from '../simulators/card-base.js';
import {
  SIM_APP_ID,
  SIM_ISSUERS,
  type SimulatorSet,
  simAppSecret,
  simEndpoint,
  startSimulators,
} from '../simulators/index.js';
import type { Context } from './context.js';

/** A fixed id, so the README and the docs can name it. */
export const DEMO_CHANNEL_ID = 'ch_demo0000000000000000000000';

/** Creates the demo channel on first run and returns its credentials (they are shown to the operator). */
export async function ensureDemoChannel(ctx: Context) {
  if (!(await ctx.channels.get(DEMO_CHANNEL_ID))) {
    await ctx.channels.create({ name: 'Demo channel', kind: 'merchant' }, { id: DEMO_CHANNEL_ID });
    ctx.logger.info({ channel_id: DEMO_CHANNEL_ID }, 'demo channel created');
  }
  const creds = await ctx.channels.credentials(DEMO_CHANNEL_ID);
  const webhookSecret = await ctx.channels.webhookSecret(DEMO_CHANNEL_ID);
  if (!creds || !webhookSecret) throw new Error('demo channel vanished');
  return { ...creds, webhookSecret };
}

/**
 * Points every card type at a simulated issuer (routes `sim_<card type>`), so the whole flow runs out of
 * the box. Used by `serve --demo` with in-process simulators, and by tests and benchmarks.
 */
export async function routeCardTypesTo(
  ctx: Pick<Context, 'issuerAdmin'>,
  sims: SimulatorSet,
  options: { pollMs?: number; capacityPerMinute?: number; timeoutMs?: number; maxConcurrency?: number } = {},
): Promise<number> {
  let n = 0;
  for (const [cardType, format] of Object.entries(SIM_FORMATS)) {
    const sim = sims.byIssuer.get(format.issuer);
    if (!sim) continue;
    const protocol = SIM_ISSUERS[format.issuer] as IssuerProtocol;
    await ctx.issuerAdmin.putRoute(`sim_${cardType}`, {
      card_type: cardType,
      issuer: format.issuer,
      protocol,
      endpoint: simEndpoint(protocol, sim.url),
      priority: 10,
      capacity_per_minute: options.capacityPerMinute ?? 600_000,
      timeout_ms: options.timeoutMs ?? 3000,
      max_concurrency: options.maxConcurrency ?? 64,
      poll_ms: options.pollMs ?? 2000,
      ...(protocol === 'rest'
        ? { app_id: SIM_APP_ID, app_secret: simAppSecret(sims.seed, format.issuer) }
        : {}),
      enabled: true,
    });
    n++;
  }
  return n;
}

/** Starts the simulated issuers in this process and routes the demo card types to them. */
export async function startDemoIssuers(ctx: Context): Promise<SimulatorSet> {
  const sims = await startSimulators({
    seed: DEFAULT_SEED,
    faults: {
      latencyMs: ctx.config.demoSimulatorLatencyMs,
      jitterMs: Math.ceil(ctx.config.demoSimulatorLatencyMs / 2),
    },
    publishEveryMs: 5000,
  });
  const routed = await routeCardTypesTo(ctx, sims);
  ctx.logger.info({ issuers: [...sims.byIssuer.keys()], routes: routed }, 'demo issuer simulators started');
  return sims;
}
