import { randomBytes } from 'node:crypto';
import { signedHeaders } from './signing.js';

export interface ClientOptions {
  baseUrl: string;
  channelId: string;
  secret: string;
  /** Injected for tests of the window; defaults to the system clock. */
  nowSeconds?: () => number;
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
    return signedHeaders(this.options.channelId, this.options.secret, {
      timestamp,
      nonce,
      method,
      pathWithQuery,
      body: text,
    });
  }

  async request<T = unknown>(
    method: string,
    pathWithQuery: string,
    body?: unknown,
  ): Promise<ClientResponse<T>> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers = this.headersFor(method, pathWithQuery, text);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(new URL(pathWithQuery, this.options.baseUrl), {
      method,
      headers,
      ...(body === undefined ? {} : { body: text }),
    });
    const raw = await res.text();
    let parsed: unknown = raw;
    try {
      parsed = raw.length > 0 ? JSON.parse(raw) : null;
    } catch {
      // not JSON: hand back the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
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
