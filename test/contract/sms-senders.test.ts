import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createHttpSmsSender,
  maskPhone,
  type SmsAdapter,
  smsSenderFromConfig,
} from '../../src/adapters/sms/index.js';
import { SMS_HEADERS, SMS_SEND_PATH, smsSignature } from '../../src/adapters/sms/protocol.js';
import { NO_FAULTS } from '../../src/simulators/faults.js';
import { type SmsSimulator, startSmsSimulator } from '../../src/simulators/sms-gateway.js';

/**
 * The contract every SMS sender meets (docs/sms.md), run against the HTTP adapter and the gateway
 * simulator: sends are recorded and readable, refusals are not retryable, the gateway's trouble is.
 */
interface Pair {
  name: string;
  start(): Promise<{ sim: SmsSimulator; sender: SmsAdapter; wrongKey: SmsAdapter }>;
}

const pairs: Pair[] = [
  {
    name: 'template gateway (HMAC-signed JSON)',
    async start() {
      const sim = await startSmsSimulator();
      return {
        sim,
        sender: createHttpSmsSender({ ...sim.adapterConfig, timeoutMs: 1000 }),
        wrongKey: createHttpSmsSender({ ...sim.adapterConfig, secret: 'not-the-secret' }),
      };
    },
  },
];

for (const pair of pairs) {
  describe(`SMS sender contract: ${pair.name}`, () => {
    let sim: SmsSimulator;
    let sender: SmsAdapter;
    let wrongKey: SmsAdapter;
    let n = 0;
    const next = () => {
      n++;
      return { to: `+86138${String(n).padStart(8, '0')}`, reference: `chl_${n}` };
    };
    beforeAll(async () => {
      ({ sim, sender, wrongKey } = await pair.start());
    });
    afterAll(async () => {
      await sender.close();
      await wrongKey.close();
      await sim.close();
    });
    beforeEach(() => sim.setFaults(NO_FAULTS));

    it('sends: ok with a message id; the gateway recorded the text, readable over HTTP by number', async () => {
      const { to, reference } = next();
      const r = await sender.send({ to, reference, text: 'Your Recard code is 482913, valid 5 minutes.' });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.messageId).toMatch(/^sms_/);
      const res = await fetch(`${sim.url}/__sim/messages?to=${encodeURIComponent(to)}`);
      const { messages } = (await res.json()) as { messages: { text: string; messageId: string }[] };
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ messageId: r.messageId, text: expect.stringContaining('482913') });
      expect(sim.lastCode(to)).toBe('482913');
      // Another number's messages are not listed under this one.
      expect(sim.messages(next().to)).toEqual([]);
    });

    it('the same reference again is the same message, recorded once', async () => {
      const { to, reference } = next();
      const a = await sender.send({ to, reference, text: 'code 111222' });
      const b = await sender.send({ to, reference, text: 'code 111222' });
      expect(a).toEqual(b);
      expect(sim.messages(to)).toHaveLength(1);
      const other = await sender.send({ to, reference, text: 'code 333444' });
      expect(other).toMatchObject({ ok: false, retryable: false, code: 'REFERENCE_CONFLICT' });
    });

    it('a bad signature is refused, not retryable, and nothing is recorded', async () => {
      const { to, reference } = next();
      const before = sim.refusedSignatures();
      const r = await wrongKey.send({ to, reference, text: 'code 555666' });
      expect(r).toMatchObject({ ok: false, retryable: false, code: 'SIGNATURE_INVALID' });
      expect(sim.refusedSignatures()).toBe(before + 1);
      expect(sim.messages(to)).toEqual([]);
    });

    it('a body changed after signing is refused (the signature covers the raw body)', async () => {
      const ts = String(Math.floor(Date.now() / 1000));
      const { keyId, secret } = sim.adapterConfig;
      const signed = JSON.stringify({
        to: '+8613800000001',
        template_code: 'RECARD_STEP_UP',
        template_params: { content: 'x 1234' },
        reference: 'r1',
      });
      const sent = signed.replace('+8613800000001', '+8613800000002');
      const res = await fetch(`${sim.url}${SMS_SEND_PATH}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SMS_HEADERS.keyId]: keyId,
          [SMS_HEADERS.timestamp]: ts,
          [SMS_HEADERS.signature]: smsSignature(secret, keyId, ts, signed),
        },
        body: sent,
      });
      expect(res.status).toBe(401);
      expect(sim.messages('+8613800000002')).toEqual([]);
    });

    it('a stale timestamp is refused', async () => {
      const stale = createHttpSmsSender({
        ...sim.adapterConfig,
        now: () => Math.floor(Date.now() / 1000) - 3600,
      });
      const r = await stale.send({ ...next(), text: 'code 777888' });
      await stale.close();
      expect(r).toMatchObject({ ok: false, retryable: false, code: 'TIMESTAMP_SKEWED' });
    });

    it('gateway 5xx → retryable failure; the same reference then goes through once', async () => {
      const { to, reference } = next();
      sim.setFaults({ errorRate: 1, operations: ['send'] });
      const r = await sender.send({ to, reference, text: 'code 246810' });
      expect(r).toMatchObject({ ok: false, retryable: true, code: 'INTERNAL_ERROR' });
      expect(sim.messages(to)).toEqual([]);
      sim.setFaults(NO_FAULTS);
      expect((await sender.send({ to, reference, text: 'code 246810' })).ok).toBe(true);
      expect(sim.messages(to)).toHaveLength(1);
    });

    it('throttled (429) is retryable; a reset or a timeout is retryable; a garbled answer is retryable', async () => {
      sim.setFaults({ ambiguousRate: 1, operations: ['send'] });
      expect(await sender.send({ ...next(), text: 'c 1234' })).toMatchObject({
        ok: false,
        retryable: true,
        code: 'THROTTLED',
      });
      sim.setFaults({ ...NO_FAULTS, resetRate: 1, operations: ['send'] });
      expect(await sender.send({ ...next(), text: 'c 1234' })).toMatchObject({ ok: false, retryable: true });
      sim.setFaults({ ...NO_FAULTS, timeoutRate: 1, hangMs: 3000, operations: ['send'] });
      expect(await sender.send({ ...next(), text: 'c 1234' })).toMatchObject({
        ok: false,
        retryable: true,
        code: 'TRANSPORT_TIMEOUT',
      });
      sim.setFaults({ ...NO_FAULTS, malformedRate: 1, operations: ['send'] });
      expect(await sender.send({ ...next(), text: 'c 1234' })).toMatchObject({
        ok: false,
        retryable: true,
        code: 'ANSWER_MALFORMED',
      });
    });

    it('4xx → not retryable: a request the gateway refuses, and a number the adapter refuses before sending', async () => {
      const r = await sender.send({ to: '+86 138 0013 8000', reference: 'chl_badnum', text: 'code 135790' });
      expect(r).toMatchObject({ ok: false, retryable: false, code: 'INVALID_PHONE' });
      // Errors show the number masked and never the text (it carries the code).
      if (!r.ok) {
        expect(r.message).not.toContain('135790');
        expect(r.message).not.toContain('138 0013');
      }
      const bad = await sender.send({ ...next(), reference: 'has spaces', text: 'code 135790' });
      expect(bad).toMatchObject({ ok: false, retryable: false, code: 'INVALID_REQUEST' });
      if (!bad.ok) expect(bad.message).not.toContain('135790');
    });

    it('the fault switches are an HTTP control API, strictly validated', async () => {
      const put = (body: unknown) =>
        fetch(`${sim.url}/__sim/faults`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await put({ errorRate: 0.5, operations: ['send'] })).status).toBe(200);
      expect(sim.faults).toMatchObject({ errorRate: 0.5, operations: ['send'] });
      expect((await put({ errorRate: 2 })).status).toBe(400);
      expect((await put({ bogus: 1 })).status).toBe(400);
    });
  });
}

describe('SMS configuration and masking', () => {
  it('no URL or no key: no sender (step-up SMS unavailable)', () => {
    expect(smsSenderFromConfig({ smsKeyId: 'recard' })).toBeNull();
    expect(smsSenderFromConfig({ smsUrl: 'http://127.0.0.1:1', smsKeyId: 'recard' })).toBeNull();
    const s = smsSenderFromConfig({
      smsUrl: 'http://127.0.0.1:1',
      smsKeyId: 'recard',
      smsKey: 'k'.repeat(32),
    });
    expect(s).not.toBeNull();
    return s?.close();
  });
  it('masks a number to its last four digits', () => {
    expect(maskPhone('+8613800138000')).toBe('**********8000');
    expect(maskPhone('123')).toBe('***');
  });
});
