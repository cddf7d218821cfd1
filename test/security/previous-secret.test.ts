import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

type Err = { error: { code: string } };

/**
 * After a rotation the replaced secret keeps verifying ordinary calls during the overlap, so the
 * channel can move its processes over. Whoever still holds it (a leak is a reason to rotate) must
 * not be able to rotate again and keep the channel.
 */
describe.each(storageTargets())('the secret a rotation replaced, on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target);
  });
  afterAll(() => t.stop());

  it('verifies ordinary calls during the overlap, but cannot rotate the API or webhook secret', async () => {
    const ch = await t.createChannel({ name: 'Rotating' });
    const rotated = await ch.client.post<{ secret: string }>('/v1/channel/secrets/rotate', { kind: 'api' });
    expect(rotated.status).toBe(200);
    const old = ch.client; // still signs with the replaced secret
    expect((await old.get('/v1/channel')).status).toBe(200);
    for (const kind of ['api', 'webhook']) {
      const res = await old.post<Err>('/v1/channel/secrets/rotate', { kind, overlap_s: 0 });
      expect(res.status, kind).toBe(403);
      expect(res.body.error.code).toBe('current_credentials_required');
    }
    // The owner's new secret still works, and can rotate.
    const current = new RecardClient({ baseUrl: t.url, channelId: ch.id, secret: rotated.body.secret });
    expect((await current.get('/v1/channel')).status).toBe(200);
    expect((await current.post('/v1/channel/secrets/rotate', { kind: 'webhook' })).status).toBe(200);
  });
});
