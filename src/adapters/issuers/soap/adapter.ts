import { amountOf, createAgent, httpCall, statusError } from '../http.js';
import {
  type CallOptions,
  type Inquiry,
  type IssuerAdapter,
  IssuerCallError,
  type IssuerCard,
  type LookupResult,
  type Redemption,
} from '../port.js';
import { BOSS_NS, buildEnvelope, type EnvelopeError, parseEnvelope, type SoapFields } from './envelope.js';

export interface SoapAdapterOptions {
  /** Service URL, e.g. http://boss.example/boss/CardService. */
  endpoint: string;
}

/** SOAP 1.1 (China Mobile BOSS style). Codes: docs/issuers.md. */
export function createSoapAdapter(options: SoapAdapterOptions): IssuerAdapter {
  const agent = createAgent();

  async function call(
    operation: string,
    fields: SoapFields,
    opts: CallOptions = {},
  ): Promise<Record<string, string>> {
    const res = await httpCall(agent, {
      method: 'POST',
      url: options.endpoint,
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${BOSS_NS}#${operation}"` },
      body: buildEnvelope(operation, fields),
      signal: opts.signal,
    });
    let parsed: ReturnType<typeof parseEnvelope>;
    try {
      parsed = parseEnvelope(res.text);
    } catch (err) {
      if (res.status !== 200) throw statusError(res.status, operation);
      throw new IssuerCallError('malformed', `${operation}: ${(err as EnvelopeError).message}`);
    }
    if (parsed.kind === 'fault') {
      // soap:Client means our request was wrong; anything else is the issuer's trouble.
      const kind = /(^|:)Client$/.test(parsed.faultcode) ? 'rejected' : 'unavailable';
      throw new IssuerCallError(
        kind,
        `${operation}: SOAP fault ${parsed.faultcode}: ${parsed.faultstring}`,
        parsed.faultcode,
      );
    }
    if (res.status !== 200) throw statusError(res.status, operation);
    if (parsed.operation !== `${operation}Response` || !parsed.fields.resultCode)
      throw new IssuerCallError('malformed', `${operation}: no ${operation}Response with a resultCode`);
    return parsed.fields;
  }

  return {
    protocol: 'soap',
    async inquire(card: IssuerCard, opts?: CallOptions): Promise<Inquiry> {
      const f = await call('QueryCard', { cardNo: card.number, cardPwd: card.secret }, opts);
      const faceValue = amountOf(f.faceValue, 'faceValue');
      const balance = amountOf(f.balance, 'balance');
      return {
        rawCode: f.resultCode as string,
        ...(f.resultDesc ? { rawMessage: f.resultDesc } : {}),
        ...(faceValue !== undefined ? { faceValue } : {}),
        ...(balance !== undefined ? { balance } : {}),
        ...(f.expireDate ? { expiresOn: f.expireDate } : {}),
      };
    },
    async redeem(card, redemptionId, opts): Promise<Redemption> {
      const f = await call(
        'RechargeCard',
        { cardNo: card.number, cardPwd: card.secret, transId: redemptionId },
        opts,
      );
      const amount = amountOf(f.amount, 'amount');
      return {
        outcome: 'done',
        rawCode: f.resultCode as string,
        ...(amount !== undefined ? { amount } : {}),
      };
    },
    async lookup(redemptionId, _card, opts): Promise<LookupResult> {
      const f = await call('QueryTrans', { transId: redemptionId }, opts);
      if (f.resultCode === '0000' && f.transStatus === 'SUCCESS') {
        const amount = amountOf(f.amount, 'amount');
        return { state: 'redeemed', rawCode: '0000', ...(amount !== undefined ? { amount } : {}) };
      }
      if (f.resultCode === '2001') return { state: 'not_redeemed', rawCode: '2001' };
      throw new IssuerCallError('unavailable', `QueryTrans answered ${f.resultCode}`, f.resultCode);
    },
    close: () => agent.close(),
  };
}
