import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';
import { type Allowlist, addressAllowed, classifyAddress, hostAllowed, isLocalName } from './address.js';

/**
 * The one door for HTTP calls to addresses a channel chose (callbacks): it refuses internal
 * addresses on the URL, again on every address DNS gives, and once more on the address each socket
 * dials (a custom `lookup` in the connection pool), so that DNS rebinding cannot slip past the first
 * check. Only RECARD_OUTBOUND_ALLOWLIST opens an exception; loopback is never allowed by default.
 */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

export type OutboundRefusal =
  | { code: 'url_invalid'; message: string }
  | { code: 'address_refused'; message: string }
  | { code: 'host_unresolvable'; message: string };

export type OutboundAttempt =
  | { ok: true; status: number; body: Buffer; latencyMs: number }
  | {
      ok: false;
      code: 'address_refused' | 'timeout' | 'connection_failed' | 'url_invalid';
      message: string;
      latencyMs: number;
    };

export interface OutboundOptions {
  allowlist: Allowlist;
  timeoutMs: number;
  /** Bytes of a response body read at most; the rest is dropped unread. */
  maxResponseBytes: number;
  resolve?: Resolver;
  /** Connections kept per origin (keep-alive), so one busy receiver does not cost a handshake per call. */
  connectionsPerOrigin?: number;
}

export const MAX_URL_LENGTH = 2048;

const REFUSED_MESSAGE = 'The address is in an internal or reserved range; Recard does not call it.';

class AddressRefused extends Error {
  override name = 'AddressRefused';
}

/** This host's own interface addresses: its admin API listens there, whatever their range. */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(ipaddr.process(a.address).toString());
  }
  return out;
}

export class OutboundGuard {
  private readonly resolve: Resolver;
  private readonly own = ownAddresses();
  readonly agent: Agent;

  constructor(private readonly o: OutboundOptions) {
    this.resolve = o.resolve ?? systemResolver;
    this.agent = new Agent({
      connections: o.connectionsPerOrigin ?? 64,
      keepAliveTimeout: 10_000,
      connect: { lookup: this.dialLookup },
    });
  }

  /** May a socket be opened to this address? */
  permits(address: string): boolean {
    if (addressAllowed(this.o.allowlist, address)) return true;
    if (!ipaddr.isValid(address)) return false;
    if (this.own.has(ipaddr.process(address).toString())) return false;
    return classifyAddress(address).allowed;
  }

  /** The checks that need no network: scheme, length, and the host when it is an address or local name. */
  checkUrl(text: string): OutboundRefusal | URL {
    if (text.length > MAX_URL_LENGTH)
      return { code: 'url_invalid', message: `The URL is longer than ${MAX_URL_LENGTH} characters.` };
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { code: 'url_invalid', message: 'The URL cannot be parsed.' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { code: 'url_invalid', message: 'Only http and https URLs are called.' };
    if (url.username || url.password)
      return { code: 'url_invalid', message: 'The URL must not carry a user name or password.' };
    const host = bareHost(url);
    if (hostAllowed(this.o.allowlist, host)) return url;
    if (ipaddr.isValid(host))
      return this.permits(host) ? url : { code: 'address_refused', message: REFUSED_MESSAGE };
    if (isLocalName(host)) return { code: 'address_refused', message: REFUSED_MESSAGE };
    return url;
  }

  /** checkUrl, then every address the name resolves to (registration time). */
  async checkResolved(text: string): Promise<OutboundRefusal | URL> {
    const url = this.checkUrl(text);
    if (!(url instanceof URL)) return url;
    const host = bareHost(url);
    if (ipaddr.isValid(host) || hostAllowed(this.o.allowlist, host)) return url;
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolve(host);
    } catch {
      return { code: 'host_unresolvable', message: `The host ${host} does not resolve.` };
    }
    if (addresses.length === 0 || addresses.some((a) => !this.permits(a.address)))
      return { code: 'address_refused', message: REFUSED_MESSAGE };
    return url;
  }

  /**
   * POSTs once: no redirects (a 3xx is an answer like any other), `timeoutMs` for the whole call,
   * and at most `maxResponseBytes` of the body read.
   */
  async post(
    text: string,
    headers: Record<string, string>,
    body: string,
    abort?: AbortSignal,
  ): Promise<OutboundAttempt> {
    const started = performance.now();
    const took = () => Math.round(performance.now() - started);
    const url = this.checkUrl(text);
    if (!(url instanceof URL)) {
      const code = url.code === 'host_unresolvable' ? 'connection_failed' : url.code;
      return { ok: false, code, message: url.message, latencyMs: 0 };
    }
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    // The caller's signal too (a job aborted at shutdown stops its call rather than outliving it).
    const signal = abort ? AbortSignal.any([timeout, abort]) : timeout;
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal,
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const part = chunk as Buffer;
        chunks.push(part);
        size += part.length;
        if (size >= this.o.maxResponseBytes) {
          res.body.destroy();
          break;
        }
      }
      const read = Buffer.concat(chunks);
      return {
        ok: true,
        status: res.statusCode,
        body: read.length > this.o.maxResponseBytes ? read.subarray(0, this.o.maxResponseBytes) : read,
        latencyMs: took(),
      };
    } catch (err) {
      if (hasCause(err, AddressRefused))
        return { ok: false, code: 'address_refused', message: REFUSED_MESSAGE, latencyMs: took() };
      if (timeout.aborted || isTimeout(err))
        return {
          ok: false,
          code: 'timeout',
          message: `No answer within ${this.o.timeoutMs} ms.`,
          latencyMs: took(),
        };
      // Refused, reset, unresolvable: one message, so that answers never map a network.
      return {
        ok: false,
        code: 'connection_failed',
        message: 'Could not connect or the connection broke.',
        latencyMs: took(),
      };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** The pool's lookup: what each new socket dials is checked after resolution. */
  private readonly dialLookup = (
    hostname: string,
    options: { all?: boolean },
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    // A host on the allowlist may resolve anywhere: the operator named it.
    const named = hostAllowed(this.o.allowlist, hostname);
    this.resolve(hostname).then(
      (addresses) => {
        const usable = addresses.filter((a) => named || this.permits(a.address));
        if (usable.length === 0 || usable.length < addresses.length) {
          callback(new AddressRefused(`${hostname} resolves to a refused address`), '');
          return;
        }
        const first = usable[0] as LookupAddress;
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, ''),
    );
  };
}

function bareHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The error and its causes, a few deep (undici wraps the socket's error). */
function* causes(err: unknown): Generator<Error> {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    yield e;
    e = e.cause;
  }
}

function hasCause(err: unknown, type: new (...a: never[]) => Error): boolean {
  for (const e of causes(err)) if (e instanceof type) return true;
  return false;
}

function isTimeout(err: unknown): boolean {
  for (const e of causes(err)) {
    const code = (e as { code?: string }).code;
    if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
      return true;
  }
  return false;
}
