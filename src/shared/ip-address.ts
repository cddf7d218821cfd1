import ipaddr from 'ipaddr.js';

/**
 * One spelling per address, so that a counter, a blacklist or a link never sees one address as
 * two: `::ffff:a.b.c.d` is `a.b.c.d`, IPv6 in its short form; what is not an address, trimmed and
 * lower-cased.
 */
export function canonicalIp(ip: string): string {
  return ipaddr.isValid(ip) ? ipaddr.process(ip).toString() : ip.trim().toLowerCase();
}
