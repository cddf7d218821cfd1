import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecardClient } from '../../src/client/client.js';
import { rawCall } from '../harness/http.js';
import { expectRefusal } from '../harness/refusal.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/**
 * Offline merchants sign with a registered key. The signatures come from tools a merchant would
 * use, not from our code: RSA from the openssl command line, SM2 from sm-crypto-v2 (GB/T 32918).
 */
describe.each(storageTargets())('RSA and SM2 request signatures on $name', (target) => {
  const dir = mkdtempSync(join(tmpdir(), 'recard-keys-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  let t: TestServer;
  let merchant: Awaited<ReturnType<TestServer['createChannel']>>;

  const rsaKey = (name: string, bits: number) => {
    ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', `${name}.pem`);
    return { path: join(dir, `${name}.pem`), pub: ssl('pkey', '-in', `${name}.pem`, '-pubout').toString() };
  };
  const opensslSigner = (path: string, keyId?: string) => ({
    type: 'RSA-SHA256' as const,
    ...(keyId ? { keyId } : {}),
    sign: (message: Buffer) =>
      execFileSync('openssl', ['dgst', '-sha256', '-sign', path], { input: message }).toString('base64'),
  });
  const sm2Signer = (keys: { publicKey: string; privateKey: string }) => ({
    type: 'SM2-SM3' as const,
    sign: (message: Buffer) =>
      Buffer.from(
        sm2.doSignature(new Uint8Array(message), keys.privateKey, {
          hash: true,
          der: true,
          publicKey: keys.publicKey,
        }),
        'hex',
      ).toString('base64'),
  });
  const clientWith = (signer: ConstructorParameters<typeof RecardClient>[0]['signer'], ch = merchant) =>
    new RecardClient({ baseUrl: t.url, channelId: ch.id, secret: ch.secret, ...(signer ? { signer } : {}) });
  const register = (publicKey: string, ch = merchant) =>
    t.admin('POST', `/admin/v1/channels/${ch.id}/keys`, { public_key: publicKey });
  // The offline merchant kind's own schemes: RSA or SM2, no HMAC. A store of its own for each test.
  const newStore = () =>
    t.createChannel({ name: 'Store', kind: 'merchant', auth: { schemes: ['RSA-SHA256', 'SM2-SM3'] } });

  beforeAll(async () => {
    t = await startTestServer(target);
  });
  beforeEach(async () => {
    merchant = await newStore();
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts calls signed by the openssl command line with a registered RSA key, and refuses a tampered one', async () => {
    const key = rsaKey('rsa-a', 2048);
    const reg = await register(key.pub);
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ algorithm: 'RSA-SHA256', status: 'active' });
    expect((await register(key.pub)).status).toBe(200); // the same key again: the registration there is
    const res = await clientWith(opensslSigner(key.path)).post('/v1/callback-tests', {
      url: 'https://store.example/cb',
    });
    expect(res.status).toBe(202);
    const signer = opensslSigner(key.path);
    await expectRefusal(
      t,
      () =>
        rawCall(t.url, {
          channelId: merchant.id,
          secret: merchant.secret,
          method: 'GET',
          path: '/v1/channel',
          headers: {
            'x-recard-sign-type': 'RSA-SHA256',
            'x-recard-signature': signer.sign(Buffer.from('not the string to sign')),
          },
        }),
      { status: 401, code: 'signature_invalid', field: 'x-recard-signature' },
    );
  });

  it('refuses an RSA key under 2048 bit, and garbage, as public_key_invalid', async () => {
    const weak = rsaKey('rsa-weak', 1024);
    const before = await t.counts();
    for (const text of [
      weak.pub,
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'.padEnd(80, ' '),
    ]) {
      const res = await register(text);
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('public_key_invalid');
    }
    expect(await t.counts()).toEqual(before);
  });

  it('accepts SM2 signatures made by sm-crypto-v2, with the key as a hex point or as PEM', async () => {
    const keys = sm2.generateKeyPairHex();
    expect((await register(keys.publicKey)).status).toBe(201);
    const res = await clientWith(sm2Signer(keys)).get('/v1/channel');
    expect(res.status).toBe(200);
    // A key made by openssl, as PEM; signed by sm-crypto-v2 from the same private scalar.
    ssl('genpkey', '-algorithm', 'SM2', '-out', 'sm2.pem');
    const pem = ssl('pkey', '-in', 'sm2.pem', '-pubout').toString();
    const text = ssl('pkey', '-in', 'sm2.pem', '-text', '-noout').toString();
    const priv = /priv:\s*([\s\S]*?)pub:/.exec(text)?.[1]?.replace(/[\s:]/g, '') ?? '';
    const pub = /pub:\s*([\s\S]*?)(ASN1|$)/.exec(text)?.[1]?.replace(/[\s:]/g, '') ?? '';
    expect((await register(pem)).status).toBe(201);
    const viaPem = await clientWith(
      sm2Signer({ publicKey: pub, privateKey: priv.padStart(64, '0').slice(-64) }),
    ).get('/v1/channel');
    expect(viaPem.status).toBe(200);
  });

  it('rotates: two keys verify, a revoked one stops at once, a named key narrows the choice', async () => {
    const oldKey = rsaKey('rsa-old', 2048);
    const newKey = rsaKey('rsa-new', 3072);
    const oldId = (await register(oldKey.pub)).body.id as string;
    // The channel registers its next key itself, signing with the one it has.
    const added = await clientWith(opensslSigner(oldKey.path)).post<{ id: string }>('/v1/channel/keys', {
      public_key: newKey.pub,
    });
    expect(added.status).toBe(201);
    expect((await clientWith(opensslSigner(oldKey.path)).get('/v1/channel')).status).toBe(200);
    expect((await clientWith(opensslSigner(newKey.path)).get('/v1/channel')).status).toBe(200);
    expect((await clientWith(opensslSigner(newKey.path, added.body.id)).get('/v1/channel')).status).toBe(200);
    expect((await clientWith(opensslSigner(oldKey.path, added.body.id)).get('/v1/channel')).status).toBe(401);
    expect((await t.admin('DELETE', `/admin/v1/channels/${merchant.id}/keys/${oldId}`)).body.status).toBe(
      'revoked',
    );
    const refused = await clientWith(opensslSigner(oldKey.path)).get<{ error: { code: string } }>(
      '/v1/channel',
    );
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('signature_invalid');
    expect((await clientWith(opensslSigner(newKey.path)).get('/v1/channel')).status).toBe(200);
  });

  it('refuses an RSA key with another public exponent than 65537 (a huge one makes every check slow)', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const res = await register(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'public_key_invalid', field: 'public_key' });
  });

  it('registers a key on one channel only, and never again once revoked', async () => {
    const key = rsaKey('rsa-owned', 2048);
    const id = (await register(key.pub)).body.id as string;
    // Another channel registering it could replay this channel's signed calls to itself.
    const thief = await newStore();
    const taken = await register(key.pub, thief);
    expect(taken.status).toBe(409);
    expect(taken.body.error?.code).toBe('public_key_in_use');
    const store = merchant;
    const selfService = await clientWith(opensslSigner(key.path), store).get('/v1/channel');
    expect(selfService.status).toBe(200);
    await t.admin('DELETE', `/admin/v1/channels/${store.id}/keys/${id}`);
    const again = await register(key.pub, store);
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('public_key_in_use');
  });

  it('lets a channel register its next key only with a call signed by a key it has', async () => {
    // A channel that also signs with HMAC: a leaked secret must not add a key that outlives it.
    const both = await t.createChannel({
      name: 'Both',
      kind: 'merchant',
      auth: { schemes: ['HMAC-SHA256', 'RSA-SHA256'] },
    });
    const next = rsaKey('rsa-next', 2048);
    const refused = await both.client.post<{ error: { code: string } }>('/v1/channel/keys', {
      public_key: next.pub,
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('current_credentials_required');
    const first = rsaKey('rsa-first', 2048);
    expect((await register(first.pub, both)).status).toBe(201);
    const added = await clientWith(opensslSigner(first.path), both).post('/v1/channel/keys', {
      public_key: next.pub,
    });
    expect(added.status).toBe(201);
  });

  it('tries at most two unnamed keys: with more, the call names its key', async () => {
    const keys = ['k1', 'k2', 'k3'].map((n) => rsaKey(n, 2048));
    const ids: string[] = [];
    for (const k of keys) ids.push((await register(k.pub)).body.id as string);
    const unnamed = await clientWith(opensslSigner(keys[0]?.path ?? '')).get<{
      error: { code: string; field: string };
    }>('/v1/channel');
    expect(unnamed.status).toBe(401);
    expect(unnamed.body.error).toMatchObject({ code: 'auth_header_invalid', field: 'x-recard-key-id' });
    expect((await clientWith(opensslSigner(keys[0]?.path ?? '', ids[0])).get('/v1/channel')).status).toBe(
      200,
    );
  });

  it('refuses HMAC on a channel whose schemes are RSA and SM2', async () => {
    await expectRefusal(
      t,
      () =>
        rawCall(t.url, {
          channelId: merchant.id,
          secret: merchant.secret,
          method: 'GET',
          path: '/v1/channel',
        }),
      { status: 401, code: 'sign_type_not_allowed', field: 'x-recard-sign-type' },
    );
  });

  it('gives new channels the auth of their kind', async () => {
    const auth = async (kind: 'ecommerce' | 'merchant' | 'crypto' | 'h5') => {
      const made = await t.ctx.channels.create({ name: kind, kind });
      if (!made.ok) throw new Error(made.message);
      return made.value.channel.auth;
    };
    expect(await auth('ecommerce')).toEqual({
      schemes: ['HMAC-SHA256'],
      require_token: true,
      client_cert_sha256: null,
    });
    expect(await auth('merchant')).toMatchObject({
      schemes: ['RSA-SHA256', 'SM2-SM3'],
      require_token: false,
    });
    expect(await auth('crypto')).toMatchObject({ schemes: ['HMAC-SHA256'], require_token: false });
  });
});
