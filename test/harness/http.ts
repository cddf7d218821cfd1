import { randomBytes } from 'node:crypto';
import { type SignInput, signedHeaders } from '../../src/client/signing.js';

export interface RawCall {
  channelId: string;
  secret: string;
  method: string;
  path: string;
  body?: string;
  /** What to sign, where it differs from what is sent (to tamper). */
  signed?: Partial<SignInput>;
  /** Headers to add, replace, or (value undefined) remove after signing. */
  headers?: Record<string, string | undefined>;
  timestamp?: number;
  nonce?: string;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: { error?: { code: string; message: string; field?: string; request_id: string } } & Record<
    string,
    unknown
  >;
  text: string;
}

export const freshNonce = () => randomBytes(16).toString('base64url');

/** A signed call built by hand, so tests can send something other than what was signed. */
export async function rawCall(baseUrl: string, call: RawCall): Promise<RawResponse> {
  const body = call.body ?? '';
  const input: SignInput = {
    timestamp: call.timestamp ?? Math.floor(Date.now() / 1000),
    nonce: call.nonce ?? freshNonce(),
    method: call.method,
    pathWithQuery: call.path,
    body,
    ...call.signed,
  };
  const headers: Record<string, string> = signedHeaders(call.channelId, call.secret, input);
  if (body.length > 0) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(call.headers ?? {})) {
    if (v === undefined) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  return send(baseUrl, call.method, call.path, headers, body.length > 0 ? body : undefined);
}

export async function send(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: RawResponse['body'] = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave empty: the assertion on the body will say what was wrong
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
