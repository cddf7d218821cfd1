import { describe, expect, it } from 'vitest';
import { createDbipLocator, distanceKm, type GeoPoint, ipLocator } from './index.js';

// City-centre coordinates (WGS84) and the haversine distances on R = 6371 km, worked out by hand
// and cross-checked against published great-circle figures (Beijing–Shanghai ≈ 1,067 km,
// Beijing–Guangzhou ≈ 1,888 km, London–New York ≈ 5,570 km).
const BEIJING = { lat: 39.9042, lon: 116.4074 };
const SHANGHAI = { lat: 31.2304, lon: 121.4737 };
const GUANGZHOU = { lat: 23.1291, lon: 113.2644 };
const LONDON = { lat: 51.5074, lon: -0.1278 };
const NEW_YORK = { lat: 40.7128, lon: -74.006 };

describe('distanceKm', () => {
  it('measures known city pairs', () => {
    expect(distanceKm(BEIJING, SHANGHAI)).toBeGreaterThan(1060);
    expect(distanceKm(BEIJING, SHANGHAI)).toBeLessThan(1075);
    expect(distanceKm(BEIJING, GUANGZHOU)).toBeGreaterThan(1880);
    expect(distanceKm(BEIJING, GUANGZHOU)).toBeLessThan(1895);
    expect(distanceKm(LONDON, NEW_YORK)).toBeGreaterThan(5560);
    expect(distanceKm(LONDON, NEW_YORK)).toBeLessThan(5580);
  });
  it('is symmetric, zero for one point, and half the circumference for antipodes', () => {
    expect(distanceKm(SHANGHAI, BEIJING)).toBeCloseTo(distanceKm(BEIJING, SHANGHAI), 9);
    expect(distanceKm(BEIJING, BEIJING)).toBe(0);
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371, 6);
    // Across the antimeridian: 1° of longitude on the equator, not 359°.
    expect(distanceKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 })).toBeCloseTo(
      (Math.PI * 6371) / 180,
      6,
    );
  });
});

/**
 * Real public addresses the packaged DB-IP data (build 2026-06-05) resolves; docs/risk-geo.md lists
 * them for other tests. Each is a long-lived, well-known server or carrier range, so a newer data
 * build is unlikely to move it (if one does, the pinned package version is the one to look at).
 */
const IPS = {
  /** China Unicom Beijing backbone DNS (202.106.0.20), in Xicheng district. */
  beijingUnicom: '202.106.0.20',
  /** China Telecom Beijing (220.181.0.0/16, Baidu's front ends in a Telecom Beijing data centre). */
  beijingTelecom: '220.181.38.148',
  /** China Telecom Shanghai (116.228.0.0/16, Shanghai Telecom's business range). */
  shanghaiTelecom: '116.228.111.118',
  /** China Telecom Guangdong (113.108.0.0/16, Guangzhou). */
  guangzhouTelecom: '113.108.81.189',
  /** Google Public DNS, anycast; DB-IP places it at Google's HQ. */
  googleDns: '8.8.8.8',
  /** China Telecom's IPv6 block 240e::/20, Beijing. */
  chinaTelecomV6: '240e:1::1',
} as const;

describe('the DB-IP locator', () => {
  const geo = ipLocator();
  const at = (ip: string): GeoPoint => {
    const p = geo.locate(ip);
    expect(p, ip).not.toBeNull();
    return p as GeoPoint;
  };

  it('places well-known public addresses in the right country and city', () => {
    for (const ip of [IPS.beijingUnicom, IPS.beijingTelecom, IPS.chinaTelecomV6]) {
      const p = at(ip);
      expect(p.country, ip).toBe('CN');
      expect(distanceKm(p, BEIJING), ip).toBeLessThan(50);
    }
    expect(at(IPS.shanghaiTelecom)).toMatchObject({ country: 'CN', city: 'Shanghai' });
    expect(distanceKm(at(IPS.shanghaiTelecom), SHANGHAI)).toBeLessThan(50);
    expect(at(IPS.guangzhouTelecom)).toMatchObject({ country: 'CN', city: 'Guangzhou' });
    expect(at(IPS.googleDns).country).toBe('US');
    // An IPv4-mapped IPv6 spelling is the IPv4 address.
    expect(geo.locate(`::ffff:${IPS.shanghaiTelecom}`)).toEqual(at(IPS.shanghaiTelecom));
  });

  it('tells a Beijing → Guangzhou jump from two Beijing addresses', () => {
    expect(distanceKm(at(IPS.beijingTelecom), at(IPS.guangzhouTelecom))).toBeGreaterThan(500);
    expect(distanceKm(at(IPS.beijingTelecom), at(IPS.shanghaiTelecom))).toBeGreaterThan(500);
    expect(distanceKm(at(IPS.beijingTelecom), at(IPS.beijingUnicom))).toBeLessThan(500);
  });

  it('answers null for private, loopback, reserved and unknown addresses, and for garbage', () => {
    const none = [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '192.0.2.1',
      '198.51.100.7',
      '203.0.113.9',
      '240.0.0.1',
      '::',
      '::1',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '2001:db8::1',
      '::ffff:10.0.0.1',
      '::ffff:127.0.0.1',
      '::8.8.8.8',
      '2002:0808:0808::1',
      'garbage',
      '',
      ' 8.8.8.8',
      '8.8.8.8 ',
      '999.1.1.1',
      '1.2.3',
      '0x7f.0.0.1',
      '8.8.8.8/32',
      '1:2:3:4:5:6:7:8:9',
      'x'.repeat(10_000),
    ];
    for (const ip of none) expect(geo.locate(ip), JSON.stringify(ip.slice(0, 40))).toBeNull();
    for (const bad of [undefined, null, 42, {}, ['8.8.8.8']])
      expect(geo.locate(bad as unknown as string)).toBeNull();
  });

  it('loads its data once, lazily, and looks up fast', () => {
    expect(ipLocator()).toBe(geo);
    const fresh = createDbipLocator();
    const t0 = performance.now();
    fresh.locate(IPS.beijingTelecom); // reads the IPv4 file
    const load = performance.now() - t0;
    const t1 = performance.now();
    let found = 0;
    for (let i = 0; i < 20_000; i++)
      if (fresh.locate(`${(i % 200) + 1}.${i % 251}.${(i * 7) % 256}.1`)) found++;
    const perLookupMs = (performance.now() - t1) / 20_000;
    expect(found).toBeGreaterThan(10_000);
    expect(load).toBeLessThan(5_000);
    // ≈ 0.01 ms here; a generous bound so a busy machine does not fail it.
    expect(perLookupMs).toBeLessThan(0.5);
  });

  it('throws (a broken install, not bad input) when its data folder is missing', () => {
    const broken = createDbipLocator({ dataDir: '/nonexistent/recard-geo' });
    expect(() => broken.locate(IPS.googleDns)).toThrow();
  });
});
