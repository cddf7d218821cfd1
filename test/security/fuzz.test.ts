import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/shared/errors.js';
import { rawCall, send } from '../harness/http.js';
import { arbitraryOf, type JsonSchema } from '../harness/schema-arbitrary.js';
import { startTestServer, TEST_ADMIN_TOKEN, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * Schema fuzz: requests generated from the OpenAPI document itself, for every operation, signed as
 * a real channel or admin so they reach the handlers. Whatever comes in: no 5xx, and every error in
 * the documented body. RECARD_FUZZ_RUNS sets the requests per operation (npm run fuzz: 50,000).
 */
const RUNS = Number(process.env.RECARD_FUZZ_RUNS ?? 12);
const SEED = process.env.RECARD_FUZZ_SEED ? Number(process.env.RECARD_FUZZ_SEED) : undefined;
const CODES = new Set<string>(ERROR_CODES);
/**
 * Outside the API's error body on purpose: the OAuth token endpoint answers as RFC 6749 §5.2 says,
 * and a payout provider's notification is answered in that provider's own format.
 */
const FOREIGN_SHAPED: Record<string, (body: Record<string, unknown>) => boolean> = {
  '/oauth/token': (b) => typeof b.error === 'string',
  '/notify/payouts/wechat': (b) => b.code === 'FAIL' && typeof b.message === 'string',
};
/** Streams never end by themselves; they have their own suites (test/flows/event-stream.test.ts). */
const STREAMS = new Set(['/v1/events/stream', '/v1/events/ws']);

interface Operation {
  method: string;
  path: string;
  operationId: string;
  security: Record<string, string[]>[];
  params?: JsonSchema;
  query?: JsonSchema;
  body?: JsonSchema;
  form: boolean;
}

interface OpenApiParameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const parameters = (op.parameters ?? []) as OpenApiParameter[];
      const group = (where: string): JsonSchema | undefined => {
        const ps = parameters.filter((p) => p.in === where);
        if (ps.length === 0) return undefined;
        return {
          type: 'object',
          properties: Object.fromEntries(ps.map((p) => [p.name, p.schema ?? {}])),
          required: ps.filter((p) => p.required).map((p) => p.name),
        };
      };
      const content = (op.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined)
        ?.content;
      const form = content?.['application/x-www-form-urlencoded'];
      const body = (content?.['application/json'] ?? form)?.schema;
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId),
        security: (op.security ?? []) as Record<string, string[]>[],
        ...(group('path') ? { params: group('path') } : {}),
        ...(group('query') ? { query: group('query') } : {}),
        ...(body ? { body } : {}),
        form: form !== undefined,
      });
    }
  }
  return out;
}

const fill = (template: string, params: Record<string, unknown>) =>
  template.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String(params[name] ?? 'x')));

const queryOf = (q: Record<string, unknown> | undefined) => {
  const entries = Object.entries(q ?? {}).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '';
  return `?${entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`).join('&')}`;
};

describe.each(storageTargets())('schema fuzz of every operation on $name', (target) => {
  let t: TestServer;
  let operations: Operation[];

  beforeAll(async () => {
    t = await startTestServer(target, { worker: false });
    operations = operationsOf(t.server.app.swagger() as never);
  });
  afterAll(() => t.stop());

  it('finds the operations in the document', () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  it(
    `answers ${RUNS} generated requests per operation without a 5xx, every error in the documented shape`,
    async () => {
      const failures: string[] = [];
      for (const op of operations) {
        if (STREAMS.has(op.path)) continue;
        // A channel per operation: an operation that rotates the caller's secret spoils only itself.
        const ch = await t.createChannel({ name: `fuzz ${op.operationId}` });
        const isChannel = op.security.some((s) => 'requestSignature' in s);
        const isAdmin = op.security.some((s) => 'adminToken' in s);
        const request = fc.record({
          params: op.params ? arbitraryOf(op.params) : fc.constant({}),
          query: op.query ? arbitraryOf(op.query) : fc.constant(undefined),
          body: op.body ? arbitraryOf(op.body) : fc.constant(undefined),
        });
        await fc
          .assert(
            fc.asyncProperty(request, async (r) => {
              const params = (r.params && typeof r.params === 'object' ? r.params : {}) as Record<
                string,
                unknown
              >;
              const query =
                r.query && typeof r.query === 'object' ? (r.query as Record<string, unknown>) : undefined;
              const path = `${fill(op.path, params)}${queryOf(query)}`;
              const text =
                r.body === undefined
                  ? undefined
                  : op.form && r.body && typeof r.body === 'object'
                    ? new URLSearchParams(
                        Object.entries(r.body).map(([k, v]): [string, string] => [k, String(v)]),
                      ).toString()
                    : JSON.stringify(r.body);
              const res = isChannel
                ? await rawCall(t.url, {
                    channelId: ch.id,
                    secret: ch.secret,
                    method: op.method,
                    path,
                    ...(text ? { body: text } : {}),
                  })
                : await send(
                    t.url,
                    op.method,
                    path,
                    {
                      ...(isAdmin ? { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } : {}),
                      ...(text
                        ? {
                            'content-type': op.form
                              ? 'application/x-www-form-urlencoded'
                              : 'application/json',
                          }
                        : {}),
                    },
                    text,
                  );
              const where = `${op.method} ${path} ${text?.slice(0, 200) ?? ''} → ${res.status} ${res.text.slice(0, 200)}`;
              if (res.status >= 500) {
                failures.push(where);
                return false;
              }
              if (res.status >= 400) {
                const foreign = FOREIGN_SHAPED[op.path];
                if (foreign) return foreign(res.body);
                const e = res.body.error;
                const shaped =
                  Object.keys(res.body).length === 1 &&
                  typeof e?.code === 'string' &&
                  CODES.has(e.code) &&
                  typeof e.message === 'string' &&
                  e.request_id === res.headers.get('x-request-id');
                if (!shaped) failures.push(`not the error body: ${where}`);
                return shaped;
              }
              return true;
            }),
            { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true },
          )
          .catch(() => undefined);
      }
      // Joined, so a failure shows the request and the answer rather than "Array(1)".
      expect(failures.join('\n')).toBe('');
    },
    Math.max(600_000, RUNS * 120 * 20),
  );
});
