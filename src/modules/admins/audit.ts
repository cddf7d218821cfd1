import type { Clock } from '../../shared/clock.js';
import { rfc3339 } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import type { Database } from '../../storage/schema.js';
import type { AdminPrincipal, AuditEntryView, AuditListQuery } from './model.js';

type AuditRow = Database['admin_audit'];

/**
 * Keys whose values never reach the audit log: passwords, secrets, tokens, card secrets and keys,
 * card numbers (a blacklisted card is given by its number) and phones.
 * Matched on the key's last word, so `secret_pattern` (a card type's format) stays readable while
 * `webhook_secret`, `card_secret` and `access_token` do not.
 */
const SECRET_KEY =
  /(^|[_-])(password|passwd|secret|token|pin|cvv|key|private_key|api_key|authorization|phone)$|^card_number$/i;
export const REDACTED = '[redacted]';

export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v);
    return out;
  }
  return value;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(redact(value)));
const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** One admin action as the HTTP edge saw it; `actor` null for the one unauthenticated route (login). */
export interface AuditRecord {
  actor: AdminPrincipal | null;
  /** For a login, the username it was tried for. */
  attemptedUsername?: string;
  operationId: string;
  method: string;
  route: string;
  params: Record<string, unknown>;
  body: unknown;
  status: number;
  before: unknown;
  after: unknown;
  requestId: string;
}

function entryView(r: AuditRow): AuditEntryView {
  return {
    id: r.id,
    at: rfc3339(r.at),
    actor: { kind: r.actor_kind, id: r.actor_id, name: r.actor_name },
    operation_id: r.operation_id,
    method: r.method,
    route: r.route,
    params: parse(r.params) as Record<string, unknown>,
    request_body: parse(r.request_body),
    status: r.status,
    before: parse(r.before),
    after: parse(r.after),
    request_id: r.request_id,
  };
}

/** The audit log of admin actions (docs/security.md#audit-log): append-only, read newest first. */
export function createAuditLog({ db, clock }: { db: Db; clock: Clock }) {
  return {
    async record(e: AuditRecord): Promise<void> {
      const now = clock.now();
      await db
        .insertInto('admin_audit')
        .values({
          id: newId('aud', now),
          at: now,
          actor_kind: e.actor?.kind ?? 'anonymous',
          actor_id: e.actor?.id ?? null,
          actor_name: e.actor?.username ?? e.attemptedUsername ?? 'anonymous',
          operation_id: e.operationId,
          method: e.method,
          route: e.route,
          params: json(e.params) ?? '{}',
          request_body: json(e.body),
          status: e.status,
          before: json(e.before),
          after: json(e.after),
          request_id: e.requestId,
        })
        .execute();
    },

    async list(query: AuditListQuery): Promise<{ data: AuditEntryView[]; next_cursor: string | null }> {
      let q = db
        .selectFrom('admin_audit')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(query.limit + 1);
      if (query.actor) q = q.where('actor_name', '=', query.actor);
      if (query.operation_id) q = q.where('operation_id', '=', query.operation_id);
      if (query.cursor) q = q.where('id', '<', query.cursor);
      const rows = await q.execute();
      const page = rows.slice(0, query.limit);
      return {
        data: page.map(entryView),
        next_cursor: rows.length > query.limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
