import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classicBody, classicFields, classicSign, classicSigningString } from './classic.js';

const doc = readFileSync(new URL('../../../docs/webhooks.md', import.meta.url), 'utf8');
const example = doc.slice(doc.indexOf('### Worked example'));
const secret = /Webhook secret `(whsec_[^`]+)`/.exec(example)?.[1] ?? '';
const signingString = /```\n(actual_face_value=[^\n]+)\n```/.exec(example)?.[1] ?? '';
const hmacSign = /`sign` = `([0-9A-F]{64})`/.exec(example)?.[1];
const md5Sign = /`sign` =\s+`([0-9A-F]{32})`/.exec(example)?.[1];

/** The fields behind the documented string (`key=` dropped, the empty reason put back). */
function docFields(): Record<string, string> {
  const pairs = signingString.split('&').filter((p) => !p.startsWith('key='));
  return { ...Object.fromEntries(pairs.map((p) => p.split('=') as [string, string])), reason: '' };
}

describe('classic notify format', () => {
  it('matches the worked example of docs/webhooks.md, for HMAC-SHA256 and MD5', () => {
    expect(secret).toMatch(/^whsec_/);
    const fields = docFields();
    expect(classicSigningString(fields, secret)).toBe(signingString);
    expect(classicSign(fields, secret, 'HMAC-SHA256')).toBe(hmacSign);
    expect(classicSign({ ...fields, sign_type: 'MD5' }, secret, 'MD5')).toBe(md5Sign);
  });

  it('signs with each live secret during a rotation, and flattens an order event without the card', () => {
    const event = {
      id: 'evt_1',
      type: 'order.invalid',
      subject_id: 'ord_1',
      data: {
        order: {
          id: 'ord_1',
          merchant_order_id: 'm-1',
          status: 'invalid',
          card_type: 'cmcc_national',
          card_number_masked: '****2650',
          declared_face_value: 5000,
          actual_face_value: null,
          currency: 'CNY',
          reason: 'card_used',
          attach: null,
          price: null,
        },
      },
    };
    const fields = classicFields(event, 1_764_576_001);
    expect(fields).toMatchObject({
      order_id: 'ord_1',
      reason: 'card_used',
      actual_face_value: '',
      attach: '',
    });
    const form = new URLSearchParams(classicBody(fields, ['whsec_new', 'whsec_old'], 'HMAC-SHA256'));
    const sent = Object.fromEntries(form);
    expect(sent.sign).toBe(classicSign(sent, 'whsec_new', 'HMAC-SHA256'));
    expect(sent.sign_previous).toBe(classicSign(sent, 'whsec_old', 'HMAC-SHA256'));
    // Another type carries its data as JSON.
    expect(classicFields({ id: 'evt_2', type: 'x.y', subject_id: 's', data: { a: 1 } }, 1).data).toBe(
      '{"a":1}',
    );
  });
});
