import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../../src/client/signing.js';
import { freshNonce } from '../harness/http.js';
import { startTestServer, type TestServer } from '../harness/server.js';
import { storageTargets } from '../harness/storage.js';

/** A CA, a server certificate for 127.0.0.1 and client certificates, made by the openssl command line. */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  // A new P-256 key for `name` and a request for it: self-signed (a CA) or to be signed by one.
  const keyAndRequest = (name: string, ...rest: string[]) =>
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-subj',
      `/CN=${name}`,
      ...rest,
    );
  const ca = (name: string) => keyAndRequest(name, '-x509', '-out', `${name}.pem`, '-days', '2');
  const leaf = (name: string, issuer: string, ext: string) => {
    keyAndRequest(name, '-out', `${name}.csr`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
      '-extensions',
      ext,
    );
  };
  execFileSync(
    'sh',
    [
      '-c',
      `printf '[server]\\nsubjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n[client]\\nextendedKeyUsage=clientAuth\\n' > ext.cnf`,
    ],
    { cwd: dir },
  );
  ca('ca');
  ca('rogue-ca');
  leaf('server', 'ca', 'server');
  leaf('merchant', 'ca', 'client');
  leaf('other', 'ca', 'client');
  leaf('rogue', 'rogue-ca', 'client');
  const read = (f: string) => readFileSync(join(dir, f));
  return { read, path: (f: string) => join(dir, f) };
}

const sha256Of = (pem: Buffer) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

describe.each(storageTargets())('mutual TLS on $name', (target) => {
  const dir = mkdtempSync(join(tmpdir(), 'recard-pki-'));
  let pki: ReturnType<typeof makePki>;
  let t: TestServer;
  let bound: Awaited<ReturnType<TestServer['createChannel']>>;
  let free: Awaited<ReturnType<TestServer['createChannel']>>;

  beforeAll(async () => {
    pki = makePki(dir);
    t = await startTestServer(target, {
      config: {
        tlsCert: pki.path('server.pem'),
        tlsKey: pki.path('server.key'),
        tlsClientCa: pki.path('ca.pem'),
      },
    });
    bound = await t.createChannel({
      name: 'Bound',
      auth: { client_cert_sha256: sha256Of(pki.read('merchant.pem')) },
    });
    free = await t.createChannel({ name: 'Not bound' });
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(ch: { id: string; secret: string }, client?: 'merchant' | 'other' | 'rogue') {
    const agent = new Agent({
      connect: {
        ca: pki.read('ca.pem'),
        ...(client ? { cert: pki.read(`${client}.pem`), key: pki.read(`${client}.key`) } : {}),
      },
    });
    try {
      const headers = signedHeaders(ch.id, ch.secret, {
        timestamp: Math.floor(Date.now() / 1000),
        nonce: freshNonce(),
        method: 'GET',
        pathWithQuery: '/v1/channel',
        body: '',
      });
      const res = await fetch(`${t.url}/v1/channel`, { headers, dispatcher: agent });
      return { status: res.status, body: (await res.json()) as { id?: string; error?: { code: string } } };
    } finally {
      await agent.close();
    }
  }

  it('serves HTTPS', () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lets a bound channel in only with its own certificate', async () => {
    expect(await call(bound, 'merchant')).toMatchObject({ status: 200, body: { id: bound.id } });
    for (const cert of [undefined, 'other', 'rogue'] as const) {
      const res = await call(bound, cert);
      expect(res.status, String(cert)).toBe(401);
      expect(res.body.error?.code).toBe('client_certificate_required');
    }
  });

  it('lets a channel that is not bound in with or without a certificate', async () => {
    expect((await call(free)).status).toBe(200);
    expect((await call(free, 'other')).status).toBe(200);
  });

  it('refuses TLS before 1.2 at the handshake', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const port = Number(new URL(t.url).port);
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca: pki.read('ca.pem'),
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
      });
      socket.on('secureConnect', () => {
        resolve('connected');
        socket.destroy();
      });
      socket.on('error', (e) => resolve(`refused: ${e.message}`));
    });
    expect(outcome).toMatch(/^refused/);
  });
});
