import ipaddr from 'ipaddr.js';

/**
 * Which addresses Recard may call on a channel's behalf (callbacks). Everything that is not plain
 * public unicast is refused: loopback, private, link-local (cloud metadata), CGNAT, unique-local,
 * multicast, broadcast, unspecified, documentation/benchmark ranges, and the IPv6 forms that carry an
 * IPv4 address inside (mapped, 6to4, NAT64, Teredo), so that no spelling reaches an inner address.
 */
export type AddressVerdict = { allowed: true } | { allowed: false; range: string };

export function classifyAddress(address: string): AddressVerdict {
  if (!ipaddr.isValid(address)) return { allowed: false, range: 'invalid' };
  const parsed = ipaddr.parse(address);
  const range = parsed.range();
  // ::/96 ("IPv4-compatible", deprecated) carries an IPv4 address that ipaddr.js calls unicast.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0))
    return { allowed: false, range: 'ipv4Compatible' };
  return range === 'unicast' ? { allowed: true } : { allowed: false, range };
}

/** One entry of RECARD_OUTBOUND_ALLOWLIST: a host name (exact, case-insensitive) or a CIDR/address. */
export type AllowEntry =
  | { kind: 'host'; host: string }
  | { kind: 'cidr'; net: [ipaddr.IPv4 | ipaddr.IPv6, number] };

export interface Allowlist {
  entries: readonly AllowEntry[];
  /** The list as configured, for logs and docs. */
  text: string;
}

/** Parses the comma-separated allowlist; throws on an entry that is neither a host nor a CIDR. */
export function parseAllowlist(text: string | undefined): Allowlist {
  const entries: AllowEntry[] = [];
  for (const raw of (text ?? '').split(',')) {
    const item = raw.trim().toLowerCase();
    if (item.length === 0) continue;
    if (item.includes('/')) {
      entries.push({ kind: 'cidr', net: ipaddr.parseCIDR(item) });
    } else if (ipaddr.isValid(item)) {
      const addr = ipaddr.parse(item);
      entries.push({ kind: 'cidr', net: [addr, addr.kind() === 'ipv4' ? 32 : 128] });
    } else if (/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(item)) {
      entries.push({ kind: 'host', host: item });
    } else {
      throw new Error(`RECARD_OUTBOUND_ALLOWLIST: "${raw.trim()}" is neither a host name nor a CIDR`);
    }
  }
  return { entries, text: text ?? '' };
}

export function hostAllowed(list: Allowlist, host: string): boolean {
  const h = host.toLowerCase();
  return list.entries.some((e) => e.kind === 'host' && e.host === h);
}

export function addressAllowed(list: Allowlist, address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address); // an IPv4-mapped address matches its IPv4 entry only
  return list.entries.some(
    (e) => e.kind === 'cidr' && e.net[0].kind() === parsed.kind() && parsed.match(e.net as never),
  );
}

/** Names that mean this host whatever DNS says (RFC 6761), refused before any lookup. */
export function isLocalName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain';
}
