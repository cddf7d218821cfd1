import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sign, signedHeaders, stringToSign } from './signing.js';

const EXAMPLE = {
  secret: 'sk_test_Vd3q9XcR2mT7yL0pB5nF8wK1hJ4sG6aZ',
  input: {
    timestamp: 1763800000,
    nonce: 'n9Xk2LbQ7vR4tZ8wYc1D',
    method: 'POST',
    pathWithQuery: '/v1/callback-tests',
    body: '{"url":"https://merchant.example/recard/callback"}',
  },
  signature: '7870c4a8b89227f1d21d5027c551fe076330dc5ac35ae083efc74af4318303f2',
};

describe('request signing', () => {
  it('matches the worked example of docs/signing.md', () => {
    expect(sign(EXAMPLE.secret, EXAMPLE.input)).toBe(EXAMPLE.signature);
    const doc = readFileSync(new URL('../../docs/signing.md', import.meta.url), 'utf8');
    for (const value of [
      EXAMPLE.secret,
      String(EXAMPLE.input.timestamp),
      EXAMPLE.input.nonce,
      EXAMPLE.input.body,
      EXAMPLE.signature,
    ]) {
      expect(doc).toContain(value);
    }
    expect(doc).toContain(JSON.stringify(stringToSign(EXAMPLE.input).toString('utf8')));
  });

  it('is a plain HMAC-SHA256 over the five newline-joined parts', () => {
    const expected = createHmac('sha256', EXAMPLE.secret)
      .update(
        '1763800000\nn9Xk2LbQ7vR4tZ8wYc1D\nPOST\n/v1/callback-tests\n{"url":"https://merchant.example/recard/callback"}',
      )
      .digest('hex');
    expect(sign(EXAMPLE.secret, EXAMPLE.input)).toBe(expected);
  });

  it('upper-cases the method and signs an empty body as nothing after the last line feed', () => {
    const get = { ...EXAMPLE.input, method: 'get', body: '' };
    expect(stringToSign(get).toString()).toBe('1763800000\nn9Xk2LbQ7vR4tZ8wYc1D\nGET\n/v1/callback-tests\n');
  });

  it('changes when any signed part changes', () => {
    const base = sign(EXAMPLE.secret, EXAMPLE.input);
    const variants = [
      { ...EXAMPLE.input, timestamp: EXAMPLE.input.timestamp + 1 },
      { ...EXAMPLE.input, nonce: `${EXAMPLE.input.nonce}x` },
      { ...EXAMPLE.input, method: 'PUT' },
      { ...EXAMPLE.input, pathWithQuery: '/v1/callback-tests?x=1' },
      { ...EXAMPLE.input, body: EXAMPLE.input.body.replace('merchant', 'attacker') },
    ];
    for (const v of variants) expect(sign(EXAMPLE.secret, v)).not.toBe(base);
    expect(sign(`${EXAMPLE.secret}x`, EXAMPLE.input)).not.toBe(base);
  });

  it('signs bytes, not re-serialised text: non-ASCII bodies are hashed as UTF-8', () => {
    const body = '{"name":"移动充值卡"}';
    expect(sign('k', { ...EXAMPLE.input, body })).toBe(
      sign('k', { ...EXAMPLE.input, body: Buffer.from(body, 'utf8') }),
    );
  });

  it('builds the four headers', () => {
    expect(signedHeaders('ch_x', EXAMPLE.secret, EXAMPLE.input)).toEqual({
      'x-recard-channel': 'ch_x',
      'x-recard-timestamp': '1763800000',
      'x-recard-nonce': 'n9Xk2LbQ7vR4tZ8wYc1D',
      'x-recard-signature': EXAMPLE.signature,
    });
  });
});
