import fc from 'fast-check';

/** A JSON Schema as the OpenAPI document carries it (the subset TypeBox emits). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
}

/** Anything JSON: what a careless or hostile caller sends where a schema expects something else. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(2 ** 53, -(2 ** 63), 1e308, 0.1),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom(
      '',
      ' ',
      '%00',
      '\u0000',
      '../../etc/passwd',
      "' OR 1=1 --",
      '<script>',
      'NaN',
      '-1',
      '9'.repeat(400),
    ),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

function stringOf(s: JsonSchema): fc.Arbitrary<string> {
  if (s.pattern) {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter((x) => x.length <= (s.maxLength ?? 4096));
    } catch {
      // a pattern fast-check cannot read: plain strings
    }
  }
  switch (s.format) {
    case 'uri':
      return fc.webUrl();
    case 'date-time':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString());
    case 'date':
      return fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case 'email':
      return fc.emailAddress();
  }
  return fc.string({
    unit: 'grapheme',
    minLength: s.minLength ?? 0,
    maxLength: Math.min(s.maxLength ?? 40, 200),
  });
}

/**
 * Values that mostly fit the schema (so a request gets past validation into the handler), with
 * some that do not: a fuzz that only sends garbage tests only the validator.
 */
export function arbitraryOf(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return anyJson;
  const fitting = fitted(schema, depth);
  return fc.oneof({ weight: 8, arbitrary: fitting }, { weight: 1, arbitrary: anyJson });
}

function fitted(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const union = s.anyOf ?? s.oneOf;
  if (union && union.length > 0) return fc.oneof(...union.map((u) => arbitraryOf(u, depth + 1)));
  if (s.allOf && s.allOf.length > 0) return arbitraryOf(s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return stringOf(s);
    case 'integer':
      return fc.integer({
        min: Math.max(s.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER),
        max: Math.min(s.maximum ?? 1_000_000_000_000, Number.MAX_SAFE_INTEGER),
      });
    case 'number':
      return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e12, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(arbitraryOf(s.items, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 4, 4)),
      });
    case 'object': {
      const props = s.properties ?? {};
      const required = s.required ?? [];
      const record = Object.fromEntries(
        Object.entries(props).map(([k, v]) => [k, arbitraryOf(v, depth + 1)]),
      );
      return fc.record(record, { requiredKeys: required.filter((k) => k in props) });
    }
    default:
      return anyJson;
  }
}
