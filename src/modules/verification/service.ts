import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { type Keyring, seal } from '../../shared/crypto.js';
import { fail, ok, type Result } from '../../shared/result.js';
import type { Db } from '../../storage/database.js';
import type { IssuerAdminError } from './errors.js';
import type { CodeInput, RouteInput, RouteView } from './model.js';
import { routeSecretContext } from './router.js';
import { codesOf, findRoute, listRoutes, type RouteRow, upsertCode, upsertRoute } from './store.js';

export type IssuerAdminService = ReturnType<typeof createIssuerAdminService>;

function view(row: RouteRow): RouteView {
  return {
    id: row.id,
    card_type: row.card_type,
    issuer: row.issuer,
    protocol: row.protocol,
    endpoint: row.endpoint,
    priority: row.priority,
    capacity_per_minute: row.capacity_per_minute,
    timeout_ms: row.timeout_ms,
    max_concurrency: row.max_concurrency,
    poll_ms: row.poll_ms,
    app_id: row.app_id,
    has_app_secret: row.app_secret_sealed !== null,
    enabled: row.enabled === 1,
    updated_at: rfc3339(row.updated_at),
  };
}

/** Routes and mapping tables, as operators manage them (admin API, demo set-up, tests). */
export function createIssuerAdminService(deps: {
  db: Db;
  keyring: Keyring;
  clock: Clock;
  onCodesChanged?: () => void;
  /** Lets this process's router drop its cached route lists (other processes see it within their cache time). */
  onRoutesChanged?: () => void;
}) {
  const { db, keyring, clock } = deps;
  return {
    async putRoute(id: string, input: RouteInput): Promise<Result<RouteView, IssuerAdminError['code']>> {
      const earlier = await findRoute(db, id);
      if (input.protocol === 'rest' && (!input.app_id || (!input.app_secret && !earlier?.app_secret_sealed)))
        return fail('invalid_request', 'A REST route needs app_id and app_secret.', {
          field: 'app_secret',
        });
      const now = Math.max(clock.now(), (earlier?.updated_at ?? 0) + 1);
      const row: RouteRow = {
        id,
        card_type: input.card_type,
        issuer: input.issuer,
        protocol: input.protocol,
        endpoint: input.endpoint,
        priority: input.priority,
        capacity_per_minute: input.capacity_per_minute,
        timeout_ms: input.timeout_ms,
        max_concurrency: input.max_concurrency,
        poll_ms: input.poll_ms,
        app_id: input.app_id ?? null,
        app_secret_sealed: input.app_secret
          ? seal(keyring, input.app_secret, routeSecretContext(id))
          : (earlier?.app_secret_sealed ?? null),
        enabled: input.enabled ? 1 : 0,
        created_at: earlier?.created_at ?? now,
        updated_at: now,
      };
      const stored = await upsertRoute(db, row);
      deps.onRoutesChanged?.();
      return ok(view(stored));
    },
    async listRoutes(): Promise<RouteView[]> {
      return (await listRoutes(db)).map(view);
    },
    async listCodes(issuer?: string) {
      return (await codesOf(db, issuer)).map((c) => ({
        issuer: c.issuer,
        raw_code: c.raw_code,
        reason: c.reason,
        ambiguous: c.reason === null,
        description: c.description,
      }));
    },
    async putCode(issuer: string, rawCode: string, input: CodeInput) {
      await upsertCode(db, {
        issuer,
        raw_code: rawCode,
        reason: input.reason,
        description: input.description,
        updated_at: clock.now(),
      });
      deps.onCodesChanged?.();
      return {
        issuer,
        raw_code: rawCode,
        reason: input.reason,
        ambiguous: input.reason === null,
        description: input.description,
      };
    },
  };
}
