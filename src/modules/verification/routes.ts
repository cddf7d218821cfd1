import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { readBefore } from '../../http/admin-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import {
  CodeInput,
  CodeList,
  CodeParams,
  CodeQuery,
  CodeView,
  RouteInput,
  RouteList,
  RouteParams,
  RouteView,
} from './model.js';
import type { IssuerAdminService } from './service.js';

/** /admin/v1/issuer-routes and /admin/v1/issuer-codes: where cards go, and what issuers' codes mean. */
export function issuerAdminRoutes(service: IssuerAdminService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tags = ['admin: issuers'];
    app.get(
      '/admin/v1/issuer-routes',
      {
        schema: {
          operationId: 'adminListIssuerRoutes',
          tags,
          summary: 'Every issuer route',
          response: {
            200: answer(RouteList, 'Every issuer route, by card type and priority.'),
            ...errorResponses(401),
          },
        },
      },
      async () => ({ data: await service.listRoutes() }),
    );
    app.put(
      '/admin/v1/issuer-routes/:id',
      {
        config: {
          auditBefore: readBefore(async (p: { id: string }) =>
            (await service.listRoutes()).find((r) => r.id === p.id),
          ),
        },
        schema: {
          operationId: 'adminPutIssuerRoute',
          tags,
          summary: 'Create or replace a route',
          description:
            'Workers see the change within a few seconds. Omitting app_secret keeps the stored one.',
          params: RouteParams,
          body: RouteInput,
          response: {
            200: answer(RouteView, 'The route as stored (the app secret is never shown).'),
            ...errorResponses(400, 401, 413, 415),
          },
        },
      },
      async (request) => unwrap(await service.putRoute(request.params.id, request.body)),
    );
    app.get(
      '/admin/v1/issuer-codes',
      {
        schema: {
          operationId: 'adminListIssuerCodes',
          tags,
          summary: "Issuers' raw codes and their meaning",
          querystring: CodeQuery,
          response: {
            200: answer(CodeList, "The issuers' raw codes and what each means."),
            ...errorResponses(400, 401),
          },
        },
      },
      async (request) => ({ data: await service.listCodes(request.query.issuer) }),
    );
    app.put(
      '/admin/v1/issuer-codes/:issuer/:raw_code',
      {
        config: {
          auditBefore: readBefore(async (p: { issuer: string; raw_code: string }) =>
            (await service.listCodes(p.issuer)).find((c) => c.raw_code === p.raw_code),
          ),
        },
        schema: {
          operationId: 'adminPutIssuerCode',
          tags,
          summary: 'Map a raw code to a reason (null: ambiguous)',
          params: CodeParams,
          body: CodeInput,
          response: { 200: answer(CodeView, 'The code as stored.'), ...errorResponses(400, 401, 413, 415) },
        },
      },
      async (request) => service.putCode(request.params.issuer, request.params.raw_code, request.body),
    );
  };
}
