import type { IssuerAdapter, IssuerCard } from '../../adapters/issuers/port.js';
import { IssuerCallError } from '../../adapters/issuers/port.js';
import { createIssuerAdapter } from '../../adapters/issuers/registry.js';
import type { Clock } from '../../shared/clock.js';
import { type Keyring, open } from '../../shared/crypto.js';
import type { Db } from '../../storage/database.js';
import { NotSentError, type ResilienceSettings, RouteGuard } from './resilience.js';
import { enabledRoutes, findRoute, type RouteRow } from './store.js';

/**
 * Picks the route for a card type: enabled routes in priority order, skipping those whose breaker
 * is open or whose capacity this minute is spent, falling back to the next on trouble. A redeem
 * and its lookups stay on the route the redeem went to.
 */
export const routeSecretContext = (id: string) => `issuer_route:${id}:app_secret`;

export interface Routed {
  route: RouteRow;
  adapter: IssuerAdapter;
  guard: RouteGuard;
}

/** Every route was skipped or failed; `last` is the last failure, when one was tried. */
export class NoRouteError extends Error {
  override name = 'NoRouteError';
  constructor(
    message: string,
    readonly last?: unknown,
    readonly configured = true,
  ) {
    super(message);
  }
}

export interface RouterDeps {
  db: Db;
  keyring: Keyring;
  clock: Clock;
  /** How long the route list of a card type is trusted (admin changes show within it). */
  cacheMs?: number | (() => number);
  resilience?: Pick<ResilienceSettings, 'breaker' | 'retry'>;
  onRouteSkipped?: (routeId: string, why: string) => void;
}

export class IssuerRouter {
  private readonly lists = new Map<string, { at: number; routes: RouteRow[] }>();
  private readonly built = new Map<string, { version: number; routed: Routed }>();

  constructor(private readonly deps: RouterDeps) {}

  private async routesFor(cardType: string): Promise<RouteRow[]> {
    const now = this.deps.clock.now();
    const cached = this.lists.get(cardType);
    const life = this.deps.cacheMs ?? 2000;
    if (cached && now - cached.at < (typeof life === 'function' ? life() : life)) return cached.routes;
    const routes = await enabledRoutes(this.deps.db, cardType);
    this.lists.set(cardType, { at: now, routes });
    return routes;
  }

  /** Forgets the cached route lists: the next call reads them again. */
  forgetRoutes(): void {
    this.lists.clear();
  }

  /** The adapter and guard of a route, rebuilt when the route row changed. */
  private materialise(route: RouteRow): Routed {
    const had = this.built.get(route.id);
    if (had && had.version === route.updated_at) return had.routed;
    if (had) void had.routed.adapter.close().catch(() => undefined);
    const adapter = createIssuerAdapter(route.protocol, {
      endpoint: route.endpoint,
      ...(route.app_id ? { appId: route.app_id } : {}),
      ...(route.app_secret_sealed
        ? { appSecret: open(this.deps.keyring, route.app_secret_sealed, routeSecretContext(route.id)) }
        : {}),
    });
    const guard = new RouteGuard({
      timeoutMs: route.timeout_ms,
      maxConcurrency: route.max_concurrency,
      capacityPerMinute: route.capacity_per_minute,
      ...this.deps.resilience,
    });
    const routed = { route, adapter, guard };
    this.built.set(route.id, { version: route.updated_at, routed });
    return routed;
  }

  /** Runs `call` on the first route that takes it, in priority order. */
  async firstAvailable<T>(
    cardType: string,
    call: (r: Routed) => Promise<T>,
  ): Promise<{ routed: Routed; value: T }> {
    const routes = await this.routesFor(cardType);
    if (routes.length === 0)
      throw new NoRouteError(`no enabled issuer route serves ${cardType}`, undefined, false);
    let last: unknown;
    for (const route of routes) {
      // An open breaker or a spent capacity refuses inside the guard (NotSentError) without calling
      // the issuer; asking the guard each time is what lets a half-open probe through when due.
      const routed = this.materialise(route);
      try {
        return { routed, value: await call(routed) };
      } catch (err) {
        if (!(err instanceof IssuerCallError || err instanceof NotSentError)) throw err;
        this.deps.onRouteSkipped?.(route.id, err instanceof NotSentError ? err.why : `error_${err.kind}`);
        last = err;
      }
    }
    throw new NoRouteError(`every route for ${cardType} was skipped or failed`, last);
  }

  /** A route by id (the one a redeem went to), enabled or not: its lookups must still be answered. */
  async pinned(routeId: string): Promise<Routed> {
    const route = await findRoute(this.deps.db, routeId);
    if (!route) throw new NoRouteError(`route ${routeId} no longer exists`, undefined, false);
    return this.materialise(route);
  }

  inquire(card: IssuerCard, signal?: AbortSignal) {
    return this.firstAvailable(card.cardType, (r) =>
      r.guard.callSafe((s) => r.adapter.inquire(card, { signal: s }), signal, true),
    );
  }

  /** One redeem on one route; never repeated here. */
  redeem(r: Routed, card: IssuerCard, redemptionId: string, signal?: AbortSignal) {
    return r.guard.callOnce((s) => r.adapter.redeem(card, redemptionId, { signal: s }), signal);
  }

  lookup(r: Routed, card: IssuerCard, redemptionId: string, signal?: AbortSignal) {
    return r.guard.callSafe((s) => r.adapter.lookup(redemptionId, card, { signal: s }), signal);
  }

  /** Breaker state per built route, for /metrics. */
  circuitStates(): { routeId: string; issuer: string; state: string }[] {
    return [...this.built.values()].map(({ routed }) => ({
      routeId: routed.route.id,
      issuer: routed.route.issuer,
      state: routed.guard.circuitState,
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.built.values()].map((b) => b.routed.adapter.close().catch(() => undefined)));
    this.built.clear();
  }
}
