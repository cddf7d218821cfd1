import type { TSchema } from '@sinclair/typebox';

/** An event a channel receives, for the document's `webhooks` section. */
export interface WebhookSpec {
  name: string;
  summary: string;
  description: string;
  schema: TSchema;
  example?: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Moves every schema with a `title` (Order, Error, OrderPrice, …) to `components.schemas` and puts a
 * `$ref` where it stood, innermost first. Routes keep their schemas inline for validation and
 * serialisation; the published document names each once.
 */
function hoist(node: unknown, named: Map<string, Json>): unknown {
  if (Array.isArray(node)) return node.map((n) => hoist(n, named));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'x-response-description') continue; // read by the generator already
    out[k] = k === 'example' || k === 'examples' ? v : hoist(v, named);
  }
  // The generator writes `const` as a one-value `enum`; schemas added here (webhooks) are made alike.
  if ('const' in out && !('enum' in out)) {
    out.enum = [out.const];
    delete out.const;
  }
  const title = out.title;
  if (typeof title !== 'string' || !('type' in out || 'anyOf' in out || 'oneOf' in out)) return out;
  const key = title.replace(/[^A-Za-z0-9._-]/g, '');
  const earlier = named.get(key);
  if (earlier && JSON.stringify(earlier) !== JSON.stringify(out))
    throw new Error(
      `two different schemas are both titled ${title}:\n${JSON.stringify(earlier)}\n${JSON.stringify(out)}`,
    );
  named.set(key, out);
  return { $ref: `#/components/schemas/${key}` };
}

/** A field with a default may be left out: it is not `required` in the document. */
function unrequireDefaults(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) unrequireDefaults(n);
    return;
  }
  if (!isObject(node)) return;
  const props = node.properties;
  if (Array.isArray(node.required) && isObject(props)) {
    node.required = node.required.filter((name) => !(isObject(props[name]) && 'default' in props[name]));
    if ((node.required as unknown[]).length === 0) delete node.required;
  }
  // A query parameter with a default, likewise.
  if (node.in === 'query' && node.required === true && isObject(node.schema) && 'default' in node.schema)
    delete node.required;
  for (const v of Object.values(node)) unrequireDefaults(v);
}

/** The document as published at /openapi.json and /docs. */
export function publishDocument(doc: Json, webhooks: readonly WebhookSpec[]): Json {
  const withHooks: Json = {
    ...doc,
    webhooks: Object.fromEntries(
      webhooks.map((w) => [
        w.name,
        {
          post: {
            operationId: `webhook_${w.name.replace(/\W/g, '_')}`,
            tags: ['events'],
            summary: w.summary,
            description: w.description,
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: w.schema, ...(w.example ? { example: w.example } : {}) },
              },
            },
            security: [{ webhookSignature: [] }],
            responses: {
              '200': { description: 'Any 2xx acknowledges the event; anything else is retried.' },
            },
          },
        },
      ]),
    ),
  };
  const named = new Map<string, Json>();
  const hoisted = hoist(withHooks, named) as Json;
  const components = isObject(hoisted.components) ? hoisted.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  components.securitySchemes = {
    ...schemes,
    webhookSignature: {
      type: 'apiKey',
      in: 'header',
      name: 'webhook-signature',
      description:
        'Our callbacks are signed by the Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature) ' +
        "with the channel's webhook secret; verify with any Standard Webhooks library (docs/webhooks.md).",
    },
  };
  const schemas = Object.fromEntries([...named.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const out: Json = { ...hoisted, components: { ...components, schemas } };
  unrequireDefaults(out);
  return out;
}
