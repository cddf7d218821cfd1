import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminPrincipal, AuditLog } from '../modules/admins/index.js';
import type { Idempotency } from '../modules/idempotency/index.js';
import { ApiError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { accessOf } from './admin-roles.js';
import { installIdempotency } from './idempotency.js';
import { decodeJsonBody } from './json-body.js';
import { errorResponses, requireSecurity } from './operation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who an admin request is made by; set on every admin route but login. */
    admin?: AdminPrincipal;
    /** The audit entry being built for this request, once its handler is reached. */
    auditing?: { before: unknown };
  }
  interface FastifyContextConfig {
    /**
     * How to read the object this admin route changes, as the audit log's "before" (read just
     * before the handler runs). Answer `undefined` when there is none (yet).
     */
    auditBefore?: (request: FastifyRequest) => Promise<unknown>;
    /** A read that is itself on record (an export of suspicious-activity reports). */
    auditRead?: boolean;
  }
}

/** The principal of an admin request; only routes inside `adminApi` have one. */
export function adminPrincipal(request: FastifyRequest): AdminPrincipal {
  if (!request.admin) throw new Error('route is not behind admin authentication');
  return request.admin;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const BREAK_GLASS: AdminPrincipal = { kind: 'break-glass', id: null, username: 'break-glass', role: 'admin' };

export interface AdminApiDeps {
  /** RECARD_ADMIN_TOKEN: the break-glass credential, acting as role admin. */
  breakGlassToken: string;
  /** The user whose live session a bearer token is, if any. */
  authenticate(token: string): Promise<AdminPrincipal | null>;
  audit: Pick<AuditLog, 'record'>;
  logger: Logger;
  /** Idempotency-Key on every POST, kept per admin user (docs/idempotency.md). */
  idempotency?: Idempotency;
}

/** Who made an admin call, for what is kept per caller (idempotency keys): the user, or break-glass. */
export function callerOf(request: FastifyRequest): string {
  const admin = request.admin;
  // Login is the one call without a principal: its keys are the caller's address's own.
  if (!admin) return `anonymous:${request.ip}`;
  return admin.kind === 'break-glass' ? 'break-glass' : `user:${admin.id}`;
}

function refused(): ApiError {
  return new ApiError(
    'admin_token_invalid',
    'Send a session token (POST /admin/v1/sessions) as "Authorization: Bearer <token>".',
    { field: 'authorization', headers: { 'www-authenticate': 'Bearer realm="recard-admin"' } },
  );
}

/** What the answer was, for the audit log: the JSON body, or what kind of body it was. */
function answerOf(reply: FastifyReply, payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload))
    return payload == null ? null : { body: 'stream' };
  const text = payload.toString();
  const type = String(reply.getHeader('content-type') ?? '');
  if (type.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      // fall through: recorded by its type and size
    }
  }
  return text.length === 0 ? null : { content_type: type, bytes: Buffer.byteLength(text) };
}

/**
 * The operators' API under /admin/v1 (docs/security.md). Every route but login needs
 * `Authorization: Bearer <token>`: an admin user's session token, or the configured break-glass
 * token (role admin). The caller's role must be one ADMIN_ACCESS grants for the operation, checked
 * before the body is even decoded. Every non-GET request that reaches its handler, and every
 * break-glass request, is written to the audit log with its answer, whether it succeeded or not.
 */
export function adminApi(deps: AdminApiDeps, routes: FastifyPluginAsync[]): FastifyPluginAsync {
  const expected = digest(deps.breakGlassToken);
  return async (app: FastifyInstance) => {
    app.addHook('onRoute', (route) => {
      const operationId = (route.schema as { operationId?: string } | undefined)?.operationId;
      if (accessOf(operationId) === 'public') return;
      requireSecurity(route, [{ adminToken: [] }]);
      const schema = route.schema as { response?: Record<string, unknown> };
      schema.response = { ...schema.response, ...errorResponses(403) };
    });

    app.addHook('preValidation', async (request) => {
      const access = accessOf(request.routeOptions.schema?.operationId);
      if (access === 'public') return;
      const header = request.headers.authorization ?? '';
      // The scheme name is case-insensitive (RFC 9110 §11.1).
      const given = /^bearer /i.test(header) ? header.slice('bearer '.length).trim() : '';
      if (!given) throw refused();
      // Digests are compared, so the comparison takes the same time whatever the length of the guess.
      const principal = timingSafeEqual(digest(given), expected)
        ? BREAK_GLASS
        : await deps.authenticate(given);
      if (!principal) throw refused();
      request.admin = principal;
      // Every use of the break-glass token is on record, even one refused by validation.
      if (principal.kind === 'break-glass') request.auditing = { before: undefined };
      if (!access?.includes(principal.role))
        throw new ApiError(
          'role_forbidden',
          `The role ${principal.role} may not do this${access ? `; it needs one of: ${access.join(', ')}` : ''}.`,
        );
    });
    app.addHook('preValidation', decodeJsonBody);

    app.addHook('preHandler', async (request) => {
      if (request.method === 'GET' && !request.auditing && !request.routeOptions.config.auditRead) return;
      let before: unknown;
      const read = request.routeOptions.config.auditBefore;
      if (read) {
        try {
          before = await read(request);
        } catch (err) {
          request.log.warn({ err }, 'audit: could not read the object before the change');
        }
      }
      request.auditing = { before };
    });

    // Written before the answer leaves, so that an answered action is always on record.
    app.addHook('onSend', async (request, reply, payload) => {
      if (!request.auditing) return payload;
      const body = request.body as { username?: unknown } | undefined;
      try {
        await deps.audit.record({
          actor: request.admin ?? null,
          ...(typeof body?.username === 'string' && !request.admin
            ? { attemptedUsername: body.username.slice(0, 64) }
            : {}),
          operationId: request.routeOptions.schema?.operationId ?? 'unknown',
          method: request.method,
          route: request.routeOptions.url ?? request.url.split('?')[0] ?? '',
          params: { ...(request.params as object), ...(request.query as object) },
          body: request.body,
          status: reply.statusCode,
          before: request.auditing.before,
          // A read's answer is not kept: it changed nothing, and an audit-log page would nest the log in itself.
          after: request.method === 'GET' ? null : answerOf(reply, payload),
          requestId: String(request.id),
        });
      } catch (err) {
        deps.logger.error({ err, request_id: request.id }, 'audit: the entry could not be written');
      }
      request.auditing = undefined;
      return payload;
    });

    // After the audit's preHandler: a replayed answer is on record like the first.
    if (deps.idempotency)
      installIdempotency(app, deps.idempotency, (request) => `admin:${callerOf(request)}`);

    for (const r of routes) await app.register(r);
  };
}

/**
 * A route's audit "before" (config.auditBefore) from a read by its path parameters. The read may
 * answer a service Result (a failure is no before: the object does not exist yet) or the view itself.
 */
export function readBefore<P>(
  read: (params: P) => Promise<unknown>,
): (request: FastifyRequest) => Promise<unknown> {
  return async (request) => {
    const got = await read(request.params as P);
    if (got && typeof got === 'object' && 'ok' in got && typeof got.ok === 'boolean')
      return got.ok ? (got as unknown as { value: unknown }).value : undefined;
    return got;
  };
}
