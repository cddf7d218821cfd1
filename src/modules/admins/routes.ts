import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { adminPrincipal } from '../../http/admin-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { AuditLog } from './audit.js';
import {
  AdminUserList,
  AdminUserParams,
  AdminUserPatch,
  AdminUserView,
  AuditList,
  AuditListQuery,
  LoginRequest,
  NewAdminUser,
  PasswordReset,
  SessionView,
} from './model.js';
import type { AdminService } from './service.js';

/** Login and logout: `POST /admin/v1/sessions` is the one admin route reachable without a session. */
export function adminSessionRoutes(service: AdminService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: operators'];
    app.post(
      '/admin/v1/sessions',
      {
        schema: {
          operationId: 'adminLogin',
          tags,
          summary: 'Log in: a session token for an admin user',
          description:
            'Answers an opaque bearer token, shown once, that ends after RECARD_ADMIN_SESSION_IDLE_S without use ' +
            'or RECARD_ADMIN_SESSION_MAX_S after login. A wrong username or password answers 401 ' +
            '`admin_login_failed` alike; 5 wrong passwords in a row lock the user for 15 minutes (423 `admin_locked`).',
          body: LoginRequest,
          response: {
            201: answer(SessionView, 'Logged in.'),
            ...errorResponses(400, 401, 413, 415, 423),
          },
        },
      },
      async (request, reply) => reply.status(201).send(unwrap(await service.login(request.body))),
    );
    app.delete(
      '/admin/v1/sessions/current',
      {
        schema: {
          operationId: 'adminLogout',
          tags,
          summary: 'Log out: end the session this request is made with',
          response: { 204: answer(Type.Null(), 'Logged out.') },
        },
      },
      async (request, reply) => {
        const who = adminPrincipal(request);
        if (who.kind === 'user') await service.logout(who.tokenHash);
        return reply.status(204).send(null);
      },
    );
  };
}

/** Operators and the audit log (role admin). */
export function adminUserRoutes(service: AdminService, audit: AuditLog): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: operators'];
    const userBefore = async (request: { params: unknown }) => {
      const got = await service.get((request.params as { id: string }).id);
      return got.ok ? got.value : undefined;
    };
    app.get(
      '/admin/v1/users',
      {
        schema: {
          operationId: 'adminListUsers',
          tags,
          summary: 'Every admin user',
          response: { 200: answer(AdminUserList, 'Admin users by username.'), ...errorResponses(401) },
        },
      },
      async () => ({ data: await service.list() }),
    );
    app.post(
      '/admin/v1/users',
      {
        schema: {
          operationId: 'adminCreateUser',
          tags,
          summary: 'Create an admin user',
          body: NewAdminUser,
          response: {
            201: answer(AdminUserView, 'The user.'),
            ...errorResponses(400, 401, 409, 413, 415),
          },
        },
      },
      async (request, reply) => reply.status(201).send(unwrap(await service.create(request.body))),
    );
    app.patch(
      '/admin/v1/users/:id',
      {
        config: { auditBefore: userBefore },
        schema: {
          operationId: 'adminUpdateUser',
          tags,
          summary: "Change a user's role, or disable / enable the user",
          description: 'A new role applies to open sessions at once; disabling ends them.',
          params: AdminUserParams,
          body: AdminUserPatch,
          response: {
            200: answer(AdminUserView, 'The user as changed.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.update(request.params.id, request.body)),
    );
    app.post(
      '/admin/v1/users/:id/password',
      {
        config: { auditBefore: userBefore },
        schema: {
          operationId: 'adminResetUserPassword',
          tags,
          summary: "Set a user's password",
          description: "Clears a lock and ends the user's sessions.",
          params: AdminUserParams,
          body: PasswordReset,
          response: {
            200: answer(AdminUserView, 'The user.'),
            ...errorResponses(400, 401, 404, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.resetPassword(request.params.id, request.body.password)),
    );
    app.get(
      '/admin/v1/audit-log',
      {
        schema: {
          operationId: 'adminListAuditLog',
          tags,
          summary: 'Admin actions, newest first',
          description:
            'Every non-GET admin request that reached its handler, and every use of the break-glass token, ' +
            'with who, what, when, the redacted body, the answer and (where the route declares it) the object before.',
          querystring: AuditListQuery,
          response: { 200: answer(AuditList, 'A page of entries.'), ...errorResponses(400, 401) },
        },
      },
      async (request) => audit.list(request.query),
    );
  };
}
