import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/harness/logger.js';
import { redactSecrets } from './logger.js';

describe('log redaction', () => {
  it('redacts every key named like a secret, at any depth', () => {
    const out = redactSecrets({
      card_secret: 'A',
      channel: { secret: 'B', webhook_secret: 'C', name: 'ok' },
      headers: { authorization: 'D', 'x-recard-signature': 'E' },
      list: [{ password: 'F' }, { api_key: 'G' }, { token: 'H' }, { card_number: 'I' }, { pin: 'J' }],
      amount_fen: 100,
    });
    expect(JSON.stringify(out)).not.toMatch(/"[A-J]"/);
    expect(out).toMatchObject({ amount_fen: 100, channel: { name: 'ok' } });
  });

  it('keeps keys that merely contain similar letters', () => {
    expect(redactSecrets({ spinner: 'x', tokenizer_version: 1 })).toMatchObject({ spinner: 'x' });
  });

  it('leaves requests and errors to their serializers', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ req: { method: 'GET', url: '/v1/channel' } }, 'plain');
    logger.error({ err: new Error('boom') }, 'failed');
    expect(lines[0]).toContain('"url":"/v1/channel"');
    expect(lines[1]).toContain('"message":"boom"');
    expect(lines[1]).toContain('"stack"');
  });

  it('applies to every line a logger writes', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ request: { body: { card_secret: '123456789012345678' } } }, 'submitted');
    logger.child({ channel_secret: 'sk_live_zzz' }).warn({ nested: { password: 'hunter2' } }, 'x');
    const text = lines.join('\n');
    expect(text).not.toContain('123456789012345678');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[redacted]');
  });
});
