import type { FastifyInstance, RouteOptions } from 'fastify';

/** One registered route as the router took it: what tests walk and what the role table is checked against. */
export interface RegisteredRoute {
  method: string;
  url: string;
  operationId: string | undefined;
  /** Hidden from the document (`/openapi.json`, the docs UI's own routes). */
  hidden: boolean;
  websocket: boolean;
  /** It declares a body schema. */
  body: boolean;
  auditBefore: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the application, in registration order (HEAD routes Fastify adds are left out). */
    readonly routeList: readonly RegisteredRoute[];
  }
}

/** Records every route as it is registered; call before any route is. */
export function collectRoutes(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  app.decorate('routeList', routes);
  app.addHook('onRoute', (route: RouteOptions & { websocket?: boolean }) => {
    const schema = route.schema as { operationId?: string; hide?: boolean; body?: unknown } | undefined;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method === 'HEAD') continue;
      routes.push({
        method,
        url: route.url,
        operationId: schema?.operationId,
        hidden: schema?.hide === true,
        websocket: route.websocket === true,
        body: schema?.body !== undefined,
        auditBefore: typeof route.config?.auditBefore === 'function',
      });
    }
  });
}
