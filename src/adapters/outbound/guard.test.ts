import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURED_INTERNAL_HOSTS } from '../../../test/fixtures/internal-hosts.js';
import { classifyAddress, parseAllowlist } from './address.js';
import { OutboundGuard, type Resolver } from './guard.js';

/** Every spelling of an internal address found reaching the network before this guard existed. */
const INTERNAL_HOSTS = [
  ...MEASURED_INTERNAL_HOSTS,
  '017700000001',
  'LocalHost.',
  'api.localhost',
  '[::]',
  '192.168.1.1',
  '172.16.0.1',
  '224.0.0.1',
  '[ff02::1]',
  '[fe80::1]',
  '[64:ff9b::a00:1]',
  '[2002:7f00:1::]',
  '255.255.255.255',
  '[::7f00:1]',
];

describe('outbound guard', () => {
  let hits = 0;
  let port = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200).end('ok');
  });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const guard = (allow = '', resolve?: Resolver) =>
    new OutboundGuard({
      allowlist: parseAllowlist(allow),
      timeoutMs: 1000,
      maxResponseBytes: 64 * 1024,
      ...(resolve ? { resolve } : {}),
    });

  it.each(INTERNAL_HOSTS)('refuses %s on the URL and sends nothing', async (host) => {
    const g = guard();
    const url = `http://${host}:${port}/cb`;
    expect(g.checkUrl(url)).toMatchObject({ code: 'address_refused' });
    expect(await g.checkResolved(url)).toMatchObject({ code: 'address_refused' });
    expect(await g.post(url, {}, '{}')).toMatchObject({ ok: false, code: 'address_refused' });
    expect(hits).toBe(0);
    await g.close();
  });

  it('classifies only public unicast as allowed', () => {
    expect(classifyAddress('8.8.8.8')).toEqual({ allowed: true });
    expect(classifyAddress('2001:4860:4860::8888')).toEqual({ allowed: true });
    expect(classifyAddress('100.64.0.1')).toEqual({ allowed: false, range: 'carrierGradeNat' });
    expect(classifyAddress('::ffff:8.8.8.8')).toEqual({ allowed: false, range: 'ipv4Mapped' });
  });

  it('refuses a name that resolves inside, at registration and at the socket (DNS rebinding)', async () => {
    // The name looks public at registration and points at loopback when the call is made.
    let answers = [{ address: '93.184.216.34', family: 4 }];
    const g = guard('', async () => answers);
    const url = `http://rebind.example:${port}/cb`;
    expect(await g.checkResolved(url)).toBeInstanceOf(URL);
    answers = [{ address: '127.0.0.1', family: 4 }];
    expect(await g.checkResolved(url)).toMatchObject({ code: 'address_refused' });
    expect(await g.post(url, {}, '{}')).toMatchObject({ ok: false, code: 'address_refused' });
    // One bad address among good ones refuses the name: the pool might dial either.
    answers = [
      { address: '93.184.216.34', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ];
    expect(await g.post(url, {}, '{}')).toMatchObject({ ok: false, code: 'address_refused' });
    expect(hits).toBe(0);
    await g.close();
  });

  it('calls an allowlisted address, reads at most the limit and does not follow redirects', async () => {
    const big = createServer((req, res) => {
      if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.1:${port}/` }).end();
      else res.writeHead(200).end('x'.repeat(200_000));
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    const bigPort = (big.address() as AddressInfo).port;
    const g = new OutboundGuard({
      allowlist: parseAllowlist('127.0.0.1'),
      timeoutMs: 1000,
      maxResponseBytes: 1024,
    });
    const res = await g.post(`http://127.0.0.1:${bigPort}/`, {}, '{}');
    expect(res).toMatchObject({ ok: true, status: 200 });
    expect(res.ok && res.body.length).toBe(1024);
    expect(await g.post(`http://127.0.0.1:${bigPort}/redirect`, {}, '{}')).toMatchObject({
      ok: true,
      status: 302,
    });
    expect(hits).toBe(0);
    await g.close();
    await new Promise<void>((r) => big.close(() => r()));
  });

  it('gives up after the timeout with a message that says nothing of the network', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const g = new OutboundGuard({
      allowlist: parseAllowlist('127.0.0.0/8'),
      timeoutMs: 200,
      maxResponseBytes: 1024,
    });
    const res = await g.post(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, {}, '{}');
    expect(res).toMatchObject({ ok: false, code: 'timeout' });
    const closed = await g.post('http://127.0.0.1:1/', {}, '{}');
    expect(closed).toMatchObject({
      ok: false,
      code: 'connection_failed',
      message: 'Could not connect or the connection broke.',
    });
    await g.close();
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('refuses an allowlist entry that is neither host nor CIDR, and URLs that are not http(s)', () => {
    expect(() => parseAllowlist('127.0.0.1, not a host')).toThrow(/neither/);
    const g = guard();
    expect(g.checkUrl('ftp://example.com/')).toMatchObject({ code: 'url_invalid' });
    expect(g.checkUrl(`https://example.com/${'a'.repeat(2100)}`)).toMatchObject({ code: 'url_invalid' });
    expect(g.checkUrl('https://user:pw@example.com/')).toMatchObject({ code: 'url_invalid' });
    expect(g.checkUrl('https://example.com/cb')).toBeInstanceOf(URL);
  });
});
