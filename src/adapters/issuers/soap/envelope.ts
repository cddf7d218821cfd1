import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/**
 * SOAP 1.1 envelopes built and read with fast-xml-parser: values are escaped by the builder, never
 * concatenated into XML, and a DOCTYPE is refused outright (no entity tricks). Shared by the BOSS
 * adapter and the BOSS simulator; the wire format is pinned by a literal in envelope.test.ts.
 */
export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const BOSS_NS = 'urn:recard:sim:boss:card:1';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', processEntities: true });
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Card numbers are digit strings: never turn them into numbers (leading zeros, precision).
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  trimValues: true,
});

export type SoapFields = Record<string, string | number>;

export function buildEnvelope(operation: string, fields: SoapFields): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build({
    'soap:Envelope': {
      '@_xmlns:soap': SOAP_ENV,
      'soap:Body': { [`boss:${operation}`]: { '@_xmlns:boss': BOSS_NS, ...fields } },
    },
  })}`;
}

export function buildFault(faultcode: 'soap:Server' | 'soap:Client', faultstring: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build({
    'soap:Envelope': {
      '@_xmlns:soap': SOAP_ENV,
      'soap:Body': { 'soap:Fault': { faultcode, faultstring } },
    },
  })}`;
}

export type ParsedEnvelope =
  | { kind: 'call'; operation: string; fields: Record<string, string> }
  | { kind: 'fault'; faultcode: string; faultstring: string };

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
}

/** Reads the one element in the Body: an operation with flat text fields, or a Fault. */
export function parseEnvelope(xml: string): ParsedEnvelope {
  if (/<!DOCTYPE/i.test(xml)) throw new EnvelopeError('DOCTYPE is not allowed in SOAP messages');
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new EnvelopeError(`not well-formed XML: ${(err as Error).message}`);
  }
  const body = (doc as { Envelope?: { Body?: Record<string, unknown> } })?.Envelope?.Body;
  if (!body || typeof body !== 'object') throw new EnvelopeError('no SOAP Envelope/Body');
  const names = Object.keys(body);
  if (names.length !== 1) throw new EnvelopeError('the SOAP Body must hold exactly one element');
  const operation = names[0] as string;
  const content = body[operation];
  const fields: Record<string, string> = {};
  if (content && typeof content === 'object') {
    for (const [k, v] of Object.entries(content)) {
      if (typeof v === 'string') fields[k] = v;
      else if (v !== null && typeof v === 'object') throw new EnvelopeError(`field ${k} is not text`);
    }
  }
  if (operation === 'Fault') {
    return { kind: 'fault', faultcode: fields.faultcode ?? '', faultstring: fields.faultstring ?? '' };
  }
  return { kind: 'call', operation, fields };
}
