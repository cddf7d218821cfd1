/**
 * Alipay open-API signing, shared by the adapter and the simulator (docs/payouts.md#alipay).
 * Requests: every parameter but `sign`, non-empty, sorted by name, `k=v` joined by `&`, raw (not
 * URL-encoded), signed RSA2 with the app's private key. Answers: `{"<method>_response":{…},"sign":"…"}`,
 * the platform signs the exact text of the response node, so the verifier must cut that text out of
 * the body as sent, not re-serialise a parsed object.
 */
export const ALIPAY_METHODS = {
  transfer: 'alipay.fund.trans.uni.transfer',
  query: 'alipay.fund.trans.common.query',
} as const;

export function alipaySigningString(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export const responseNodeName = (method: string) => `${method.replace(/\./g, '_')}_response`;

/** The answer body the platform sends: the node's exact text, then its signature. */
export function signedAnswer(method: string, nodeJson: string, sign: string): string {
  return `{"${responseNodeName(method)}":${nodeJson},"sign":"${sign}"}`;
}

/** Cuts the signed node's text and the signature out of an answer body; undefined if it has neither. */
export function extractSignedNode(body: string, method: string): { node: string; sign: string } | undefined {
  const prefix = `{"${responseNodeName(method)}":`;
  const at = body.lastIndexOf(',"sign":"');
  if (!body.startsWith(prefix) || at < prefix.length || !body.endsWith('"}')) return undefined;
  const sign = body.slice(at + ',"sign":"'.length, -2);
  return { node: body.slice(prefix.length, at), sign };
}

/** `yyyy-MM-dd HH:mm:ss` in China time (UTC+8, no DST), as the gateway wants. */
export function alipayTimestamp(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export function parseAlipayTimestamp(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text.replace(' ', 'T')}+08:00`);
  return Number.isNaN(ms) ? undefined : ms;
}
