import { jsonFeedSource } from '../adapters/fx/json-feed.js';
import type { IssuerProtocol } from '../adapters/issuers/port.js';
import { createPayoutProvider } from '../adapters/payouts/registry.js';
import type { NewChannel } from '../modules/channels/index.js';
import { DEFAULT_SEED, SIM_FORMATS } from '../simulators/card-base.js';
import { type FxFeedSimulator, startFxFeedSimulator } from '../simulators/fx-feed.js';
import {
  SIM_APP_ID,
  SIM_ISSUERS,
  type SimulatorSet,
  simAppSecret,
  simEndpoint,
  startSimulators,
} from '../simulators/index.js';
import { type PayoutSimulatorSet, startPayoutSimulators } from '../simulators/payouts.js';
import type { Context } from './context.js';

/** Fixed ids, so the README and the docs can name them. */
export const DEMO_CHANNEL_ID = 'ch_demo0000000000000000000000';
/** A crypto platform's channel: CNY cards, sellers paid in USDT (docs/pricing.md#fx). */
export const DEMO_USDT_CHANNEL_ID = 'ch_demousdt000000000000000000';

/** Creates a demo channel on first run and returns its credentials (they are shown to the operator). */
export async function ensureDemoChannel(
  ctx: Context,
  id = DEMO_CHANNEL_ID,
  input: NewChannel = DEMO_CHANNEL,
) {
  if (!(await ctx.channels.get(id))) {
    const created = await ctx.channels.create(input, { id });
    if (!created.ok) throw new Error(`demo channel ${id}: ${created.message}`);
    ctx.logger.info({ channel_id: id }, 'demo channel created');
  }
  const creds = await ctx.channels.credentials(id);
  const webhookSecret = await ctx.channels.webhookSecret(id);
  if (!creds || !webhookSecret) throw new Error('demo channel vanished');
  return { ...creds, webhookSecret };
}

// The demo pays at once and takes every test card: no per-order limits or required fields.
const DEMO_POLICY = {
  settlement: { cycle: 'T0' },
  limits: { per_order_min: null, per_order_max: null, required_fields: [] },
} satisfies Partial<NewChannel>;
// The quick start signs with HMAC (`recard call`); a registered RSA or SM2 key works beside it.
const DEMO_CHANNEL: NewChannel = {
  name: 'Demo channel',
  kind: 'merchant',
  ...DEMO_POLICY,
  auth: { schemes: ['HMAC-SHA256', 'RSA-SHA256', 'SM2-SM3'] },
};
export const DEMO_USDT_CHANNEL: NewChannel = {
  name: 'Demo crypto platform (pays USDT)',
  kind: 'crypto',
  settlement_currency: 'USDT',
  ...DEMO_POLICY,
};

/**
 * Starts the simulated exchange-rate feed in this process, reads it once so that USDT quotes work
 * from the first second, and lets the scheduled job keep reading it.
 */
export async function startDemoFxFeed(ctx: Context): Promise<FxFeedSimulator> {
  const sim = await startFxFeedSimulator();
  await ctx.fxSource?.close();
  ctx.fxSource = jsonFeedSource({ url: sim.feedUrl, now: () => ctx.clock.now() });
  const added = await ctx.pricingAdmin.refreshFx(ctx.fxSource);
  ctx.logger.info({ url: sim.feedUrl, rates: added }, 'demo exchange-rate feed started');
  return sim;
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
    const routed = await ctx.issuerAdmin.putRoute(`sim_${cardType}`, {
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
    if (!routed.ok) throw new Error(`demo route for ${cardType}: ${routed.message}`);
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

/** Uses the simulated payout providers: every destination kind is paid by its simulator. */
export function usePayoutSimulators(
  ctx: Pick<Context, 'payoutProviders' | 'wechatNotificationKeys'>,
  sims: PayoutSimulatorSet,
): void {
  for (const config of Object.values(sims.configs)) {
    const provider = createPayoutProvider(config);
    ctx.payoutProviders.set(provider.name, provider);
  }
  ctx.wechatNotificationKeys = { ...sims.wechat.notificationKeys, maxSkewS: 300 };
}

/** Starts the payout simulators in this process (the bank publishes and the chain mines every second). */
export async function startDemoPayouts(ctx: Context): Promise<PayoutSimulatorSet> {
  const sims = await startPayoutSimulators({ bankPublishEveryMs: 1000, usdtConfirmIntervalMs: 200 });
  usePayoutSimulators(ctx, sims);
  ctx.logger.info({ providers: [...ctx.payoutProviders.keys()] }, 'demo payout simulators started');
  return sims;
}

/** The README's sellers: verified, each with a destination, so a demo card goes all the way to `paid`. */
export async function ensureDemoSellers(ctx: Context): Promise<void> {
  const sellers: [string, string, { kind: 'alipay' | 'usdt'; account: string }][] = [
    [DEMO_CHANNEL_ID, 's1', { kind: 'alipay', account: '13800138000' }],
    [DEMO_CHANNEL_ID, 'seller-1', { kind: 'alipay', account: '13900139000' }],
    [DEMO_USDT_CHANNEL_ID, 's1', { kind: 'usdt', account: 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE' }],
    [DEMO_USDT_CHANNEL_ID, 'seller-1', { kind: 'usdt', account: 'TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE' }],
  ];
  for (const [channel, seller, dest] of sellers) {
    const existing = await ctx.sellers.destinations(channel, seller);
    if (existing.ok && existing.value.length > 0) continue;
    await ctx.sellers.put(channel, seller, { verified_name: 'Demo Seller', verified: true });
    const added = await ctx.sellers.addDestination(channel, seller, { ...dest, holder_name: 'Demo Seller' });
    if (!added.ok) throw new Error(`demo seller ${seller}: ${added.message}`);
  }
}
