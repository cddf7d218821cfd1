import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Metrics } from './metrics.js';
import { answer } from './operation.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail: string }>;
}

const Check = Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.String() });
const Readiness = Type.Object({ ready: Type.Boolean(), checks: Type.Array(Check) });

/** Liveness, readiness and metrics: unauthenticated, for load balancers and Prometheus. */
export function opsRoutes(checks: ReadinessCheck[], metrics: Metrics): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      {
        schema: {
          operationId: 'health',
          tags: ['operations'],
          summary: 'The process is alive',
          response: { 200: answer(Type.Object({ status: Type.Literal('ok') }), 'The process is alive.') },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          operationId: 'readiness',
          tags: ['operations'],
          summary: 'The process can serve: database reachable, schema current, workers running',
          response: {
            200: answer(Readiness, 'Ready: every check passed.'),
            503: answer(Readiness, 'Not ready; the failing check says why.'),
          },
        },
      },
      async (request, reply) => {
        const results = await Promise.all(
          checks.map(async (c) => {
            try {
              return { name: c.name, ...(await c.check()) };
            } catch (err) {
              // Driver messages can carry SQL or hosts: they go to the log, not to the caller.
              request.log.error({ err, check: c.name }, 'readiness check failed');
              return { name: c.name, ok: false, detail: 'check failed; see the server log' };
            }
          }),
        );
        const ready = results.every((r) => r.ok);
        return reply.status(ready ? 200 : 503).send({ ready, checks: results });
      },
    );

    app.get(
      '/metrics',
      { schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true } },
      async (_req, reply) => {
        const text = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(text);
      },
    );
  };
}
