import { describe, expect, it } from 'vitest';
import { buildEnvelope, buildFault, EnvelopeError, parseEnvelope } from './envelope.js';

describe('SOAP envelopes', () => {
  it('reads a hand-written BOSS request (the wire format)', () => {
    const xml = `<?xml version="1.0"?>
      <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="urn:recard:sim:boss:card:1">
        <soapenv:Header/>
        <soapenv:Body><b:QueryCard><cardNo>00123456789012345</cardNo><cardPwd>012345678901234567</cardPwd></b:QueryCard></soapenv:Body>
      </soapenv:Envelope>`;
    // A Header element is allowed beside the Body.
    expect(parseEnvelope(xml)).toEqual({
      kind: 'call',
      operation: 'QueryCard',
      fields: { cardNo: '00123456789012345', cardPwd: '012345678901234567' },
    });
  });

  it('escapes values: markup in a field stays text', () => {
    const hostile = `</cardNo><inject>1</inject>&amp;"'`;
    const xml = buildEnvelope('QueryCard', { cardNo: hostile, cardPwd: '1' });
    expect(xml).not.toContain('<inject>');
    expect(parseEnvelope(xml)).toEqual({
      kind: 'call',
      operation: 'QueryCard',
      fields: { cardNo: hostile, cardPwd: '1' },
    });
  });

  it('keeps digit strings as strings (leading zeros)', () => {
    const parsed = parseEnvelope(
      buildEnvelope('RechargeCard', { cardNo: '0000000000000000012', amount: 5000 }),
    );
    expect(parsed).toMatchObject({ fields: { cardNo: '0000000000000000012', amount: '5000' } });
  });

  it('reads faults', () => {
    expect(parseEnvelope(buildFault('soap:Server', 'System busy'))).toEqual({
      kind: 'fault',
      faultcode: 'soap:Server',
      faultstring: 'System busy',
    });
  });

  it('refuses DOCTYPE, broken XML and a Body without one element', () => {
    const entity = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope><Body><Q><n>&a;</n></Q></Body></Envelope>`;
    expect(() => parseEnvelope(entity)).toThrow(EnvelopeError);
    expect(() => parseEnvelope('<Envelope><Body><Q>')).toThrow(EnvelopeError);
    expect(() => parseEnvelope('<Envelope><Body></Body></Envelope>')).toThrow(EnvelopeError);
    expect(() => parseEnvelope('<Envelope><Body><A/><B/></Body></Envelope>')).toThrow(EnvelopeError);
  });
});
