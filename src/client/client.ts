import { createHash, randomBytes } from 'node:crypto';
import { SIGNING_HEADERS, signedHeaders, stringToSign } from './signing.js';

/** Signing with a private key instead of the HMAC secret (docs/signing.md#schemes). */
export interface KeySigner {
  type: 'RSA-SHA256' | 'SM2-SM3' | 'HMAC-SM3';
  /** The registered key's id, when the channel has several active. */
  keyId?: string;
  /** The signature over the string to sign: base64 (RSA, SM2) or hex (HMAC-SM3). */
  sign(message: Buffer): string;
}

export interface ClientOptions {
  baseUrl: string;
  channelId: string;
  secret: string;
  signer?: KeySigner;
  /** An OAuth access token for channels that need one (POST /oauth/token). */
  accessToken?: () => Promise<string> | string;
  /** Injected for tests of the window; defaults to the system clock. */
  nowSeconds?: () => number;
  /** Give up on a call (and reject) after this long; unset: wait as long as the server takes. */
  timeoutMs?: number;
}

export interface ClientResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small signed client for the channel API, used by tests, the demo and `recard call`. */
export class RecardClient {
  constructor(private readonly options: ClientOptions) {}

  /** The signing headers for one call (streams: SSE and the WebSocket upgrade are signed like any GET). */
  headersFor(method: string, pathWithQuery: string, text = ''): Record<string, string> {
    const timestamp = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    const nonce = randomBytes(16).toString('base64url');
    const input = { timestamp, nonce, method, pathWithQuery, body: text };
    const headers = signedHeaders(this.options.channelId, this.options.secret, input);
    const signer = this.options.signer;
    if (signer) {
      headers[SIGNING_HEADERS.signType] = signer.type;
      headers[SIGNING_HEADERS.signature] = signer.sign(stringToSign(input));
      if (signer.keyId) headers[SIGNING_HEADERS.keyId] = signer.keyId;
    }
    return headers;
  }

  async request<T = unknown>(
    method: string,
    pathWithQuery: string,
    body?: unknown,
  ): Promise<ClientResponse<T>> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers = this.headersFor(method, pathWithQuery, text);
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.accessToken) headers.authorization = `Bearer ${await this.options.accessToken()}`;
    const res = await fetch(new URL(pathWithQuery, this.options.baseUrl), {
      method,
      headers,
      ...(body === undefined ? {} : { body: text }),
      ...(this.options.timeoutMs === undefined
        ? {}
        : { signal: AbortSignal.timeout(this.options.timeoutMs) }),
    });
    return answerOf<T>(res);
  }

  /**
   * Uploads a batch card file (docs/batches.md): multipart with one `file` part; the parameters in
   * the query; the signature over the file's SHA-256, sent in X-Recard-Content-SHA256.
   */
  async uploadBatch<T = unknown>(
    params: Record<string, string | number>,
    file: Buffer,
    fileName: string,
  ): Promise<ClientResponse<T>> {
    const pathWithQuery = `/v1/batches?${new URLSearchParams(
      Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString()}`;
    const digest = createHash('sha256').update(file).digest('hex');
    const headers = this.headersFor('POST', pathWithQuery, digest);
    headers['x-recard-content-sha256'] = digest;
    if (this.options.accessToken) headers.authorization = `Bearer ${await this.options.accessToken()}`;
    const form = new FormData();
    form.append('file', new Blob([file]), fileName);
    const res = await fetch(new URL(pathWithQuery, this.options.baseUrl), {
      method: 'POST',
      headers,
      body: form,
    });
    return answerOf<T>(res);
  }

  /** A signed GET whose answer is a file (a batch report): the bytes as sent. */
  async download(pathWithQuery: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const headers = this.headersFor('GET', pathWithQuery);
    if (this.options.accessToken) headers.authorization = `Bearer ${await this.options.accessToken()}`;
    const res = await fetch(new URL(pathWithQuery, this.options.baseUrl), { headers });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown) {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body);
  }

  patch<T = unknown>(path: string, body: unknown) {
    return this.request<T>('PATCH', path, body);
  }

  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

/** The answer as JSON when it is JSON, else its text. */
async function answerOf<T>(res: Response): Promise<ClientResponse<T>> {
  const raw = await res.text();
  let parsed: unknown = raw;
  try {
    parsed = raw.length > 0 ? JSON.parse(raw) : null;
  } catch {
    // not JSON: hand back the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
