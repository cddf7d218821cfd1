import {
  BOSS_NS,
  buildEnvelope,
  buildFault,
  EnvelopeError,
  parseEnvelope,
} from '../adapters/issuers/soap/envelope.js';
import type { BookCode } from './issuer-book.js';
import {
  type CallRendering,
  createSimulatorBase,
  listen,
  type Rendered,
  type Simulator,
  type SimulatorOptions,
  simulatorHandle,
} from './server.js';

/** China Mobile BOSS style: a SOAP 1.1 web service with a WSDL, result codes in the body, faults for trouble. */
export const BOSS_CODES: Record<BookCode, string> = {
  ok: '0000',
  not_found: '1001',
  wrong_secret: '1002',
  used: '1003',
  expired: '1004',
  unactivated: '1005',
};
export const BOSS_AMBIGUOUS = '9003';
export const BOSS_NO_SUCH_TRANSACTION = '2001';
const PATH = '/boss/CardService';

const xml = (body: string, status = 200): Rendered => ({
  status,
  contentType: 'text/xml; charset=utf-8',
  body,
});
const fault = (code: 'soap:Server' | 'soap:Client', text: string) => xml(buildFault(code, text), 500);

function wsdl(url: string): string {
  const op = (name: string, input: string[], output: string[]) => ({ name, input, output });
  const ops = [
    op(
      'QueryCard',
      ['cardNo', 'cardPwd'],
      ['resultCode', 'resultDesc', 'faceValue', 'balance', 'expireDate'],
    ),
    op('RechargeCard', ['cardNo', 'cardPwd', 'transId'], ['resultCode', 'resultDesc', 'transId', 'amount']),
    op('QueryTrans', ['transId'], ['resultCode', 'resultDesc', 'transStatus', 'amount']),
  ];
  const seq = (fields: string[]) =>
    fields.map((f) => `<xs:element name="${f}" type="xs:string" minOccurs="0"/>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="CardService" targetNamespace="${BOSS_NS}" xmlns="http://schemas.xmlsoap.org/wsdl/"
  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="${BOSS_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <types><xs:schema targetNamespace="${BOSS_NS}" elementFormDefault="unqualified">
${ops
  .map(
    (
      o,
    ) => `    <xs:element name="${o.name}"><xs:complexType><xs:sequence>${seq(o.input)}</xs:sequence></xs:complexType></xs:element>
    <xs:element name="${o.name}Response"><xs:complexType><xs:sequence>${seq(o.output)}</xs:sequence></xs:complexType></xs:element>`,
  )
  .join('\n')}
  </xs:schema></types>
${ops
  .map(
    (o) => `  <message name="${o.name}Request"><part name="parameters" element="tns:${o.name}"/></message>
  <message name="${o.name}Response"><part name="parameters" element="tns:${o.name}Response"/></message>`,
  )
  .join('\n')}
  <portType name="CardPortType">
${ops.map((o) => `    <operation name="${o.name}"><input message="tns:${o.name}Request"/><output message="tns:${o.name}Response"/></operation>`).join('\n')}
  </portType>
  <binding name="CardBinding" type="tns:CardPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
${ops.map((o) => `    <operation name="${o.name}"><soap:operation soapAction="${BOSS_NS}#${o.name}"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>`).join('\n')}
  </binding>
  <service name="CardService"><port name="CardPort" binding="tns:CardBinding"><soap:address location="${url}${PATH}"/></port></service>
</definitions>
`;
}

export async function startBossSimulator(options: SimulatorOptions & { port?: number }): Promise<Simulator> {
  const base = createSimulatorBase(options);
  const { app, book } = base;
  let url = '';
  app.addContentTypeParser(['text/xml', 'application/soap+xml'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.get(PATH, async (req, reply) => {
    if (!('wsdl' in (req.query as object))) return reply.code(404).send();
    return reply.type('text/xml; charset=utf-8').send(wsdl(url));
  });
  app.post(PATH, async (req, reply) => {
    let call: ReturnType<typeof parseEnvelope>;
    try {
      call = parseEnvelope(String(req.body ?? ''));
    } catch (err) {
      const message = err instanceof EnvelopeError ? err.message : 'bad request';
      return reply.code(500).type('text/xml').send(buildFault('soap:Client', message));
    }
    if (call.kind !== 'call')
      return reply.code(500).type('text/xml').send(buildFault('soap:Client', 'a request, not a fault'));
    const f = call.fields;
    const need = (names: string[]) => names.every((n) => typeof f[n] === 'string' && f[n] !== '');
    const respond = (fields: Record<string, string | number>) =>
      xml(buildEnvelope(`${call.operation}Response`, fields));
    const rendering = (normal: () => Rendered): CallRendering => ({
      normal,
      error: () => fault('soap:Server', 'System busy, try later'),
      ambiguous: () => respond({ resultCode: BOSS_AMBIGUOUS, resultDesc: 'Card status abnormal' }),
    });
    switch (call.operation) {
      case 'QueryCard': {
        if (!need(['cardNo', 'cardPwd'])) break;
        return base.answer(
          reply,
          'inquire',
          rendering(() => {
            const r = book.inquire(f.cardNo as string, f.cardPwd as string);
            if (r.code === 'not_found' || r.code === 'wrong_secret' || !r.card)
              return respond({ resultCode: BOSS_CODES[r.code], resultDesc: r.code });
            return respond({
              resultCode: BOSS_CODES[r.code],
              resultDesc: r.code,
              faceValue: r.card.faceValue,
              balance: r.balance ?? 0,
              expireDate: r.card.expiresOn,
            });
          }),
        );
      }
      case 'RechargeCard': {
        if (!need(['cardNo', 'cardPwd', 'transId'])) break;
        return base.answer(
          reply,
          'redeem',
          rendering(() => {
            const r = book.redeem(f.cardNo as string, f.cardPwd as string, f.transId as string);
            return respond({
              resultCode: BOSS_CODES[r.code],
              resultDesc: r.code,
              transId: f.transId as string,
              ...(r.amount !== undefined ? { amount: r.amount } : {}),
            });
          }),
        );
      }
      case 'QueryTrans': {
        if (!need(['transId'])) break;
        return base.answer(
          reply,
          'lookup',
          rendering(() => {
            const r = book.lookup(f.transId as string);
            if (!r)
              return respond({ resultCode: BOSS_NO_SUCH_TRANSACTION, resultDesc: 'no such transaction' });
            return respond({
              resultCode: '0000',
              resultDesc: 'ok',
              transStatus: 'SUCCESS',
              amount: r.amount,
            });
          }),
        );
      }
      default:
        return reply
          .code(500)
          .type('text/xml')
          .send(buildFault('soap:Client', `unknown operation ${call.operation}`));
    }
    return reply
      .code(500)
      .type('text/xml')
      .send(buildFault('soap:Client', `missing parameters for ${call.operation}`));
  });
  url = await listen(app, options.port, options.host);
  return simulatorHandle(base, 'soap', options.issuer, url);
}
