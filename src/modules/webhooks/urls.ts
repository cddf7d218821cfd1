import type { OutboundGuard, OutboundRefusal } from '../../adapters/outbound/index.js';
import { type Failure, fail } from '../../shared/result.js';
import type { UrlError } from './errors.js';

const CODES: Record<OutboundRefusal['code'], UrlError['code']> = {
  url_invalid: 'url_invalid',
  address_refused: 'url_address_refused',
  host_unresolvable: 'url_host_unresolvable',
};

function refusal(r: OutboundRefusal, field: string): UrlError {
  return fail(CODES[r.code], r.message, { field });
}

/** A destination a channel registers: every outbound rule, with the name resolved now. */
export async function checkDestination(
  guard: OutboundGuard,
  url: string,
  field: string,
): Promise<UrlError | null> {
  const r = await guard.checkResolved(url);
  return r instanceof URL ? null : refusal(r, field);
}

/** The rules that need no lookup: scheme, length, and a host that is an address or a local name. */
export function checkStatic(
  guard: OutboundGuard,
  url: string,
  field: string,
): Failure<'url_invalid' | 'url_address_refused' | 'url_host_unresolvable'> | null {
  const r = guard.checkUrl(url);
  return r instanceof URL
    ? null
    : (refusal(r, field) as Failure<'url_invalid' | 'url_address_refused' | 'url_host_unresolvable'>);
}

/**
 * An order's callback_url at intake: the rules that need no lookup (intake stays fast; the address
 * dialled is checked at every delivery), and the channel's own list of hosts when it has one.
 */
export function checkOrderCallbackUrl(
  guard: OutboundGuard,
  allowedHosts: readonly string[],
  url: string,
): UrlError | null {
  const r = guard.checkUrl(url);
  if (!(r instanceof URL)) return refusal(r, 'callback_url');
  if (allowedHosts.length > 0 && !allowedHosts.includes(r.hostname.toLowerCase()))
    return fail(
      'callback_host_not_allowed',
      `The callback_url host ${r.hostname} is not one of this channel's callback hosts (ask the operator to add it).`,
      { field: 'callback_url' },
    );
  return null;
}
