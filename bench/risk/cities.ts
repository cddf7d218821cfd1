/**
 * Public IPv4 ranges of Chinese cities, for the synthetic day's sellers (docs/risk-replay.md). Each
 * city is given by ranges China Telecom or China Unicom announce for it; the risk engine locates an
 * address with its bundled geo-IP database, so these ranges must resolve to the city named here in
 * that database (the engine's author checks them; `checkCities` in the replay prints any that do not
 * once a locator is given). Coordinates are the city centre.
 */
export interface City {
  code: string;
  name: string;
  lat: number;
  lon: number;
  /** CIDR blocks, `a.b.c.d/len`. */
  ranges: string[];
}

export const CITIES: readonly City[] = [
  {
    code: 'beijing',
    name: 'Beijing',
    lat: 39.904,
    lon: 116.407,
    ranges: ['123.112.0.0/13', '61.135.0.0/16'],
  },
  {
    code: 'shanghai',
    name: 'Shanghai',
    lat: 31.23,
    lon: 121.474,
    ranges: ['58.32.0.0/13', '116.224.0.0/12'],
  },
  {
    code: 'guangzhou',
    name: 'Guangzhou',
    lat: 23.129,
    lon: 113.264,
    ranges: ['113.108.0.0/16', '219.136.0.0/15'],
  },
  {
    code: 'chengdu',
    name: 'Chengdu',
    lat: 30.573,
    lon: 104.066,
    ranges: ['125.70.0.0/16', '118.112.0.0/14'],
  },
  { code: 'urumqi', name: 'Urumqi', lat: 43.826, lon: 87.617, ranges: ['124.117.0.0/16', '110.152.0.0/14'] },
  { code: 'harbin', name: 'Harbin', lat: 45.803, lon: 126.535, ranges: ['221.208.0.0/14'] },
  { code: 'wuhan', name: 'Wuhan', lat: 30.593, lon: 114.305, ranges: ['59.172.0.0/15', '58.48.0.0/13'] },
  { code: 'xian', name: "Xi'an", lat: 34.341, lon: 108.94, ranges: ['113.200.0.0/15'] },
  { code: 'hangzhou', name: 'Hangzhou', lat: 30.274, lon: 120.155, ranges: ['60.176.0.0/13'] },
  { code: 'kunming', name: 'Kunming', lat: 25.038, lon: 102.718, ranges: ['116.52.0.0/14'] },
];

/** Great-circle distance in km. */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** The address at `offset` within a CIDR block (offset taken modulo the block's size, avoiding .0 and .255). */
export function addressIn(cidr: string, offset: number): string {
  const [base, lenText] = cidr.split('/') as [string, string];
  const parts = base.split('.').map(Number);
  const start =
    ((parts[0] as number) * 2 ** 24 +
      (parts[1] as number) * 2 ** 16 +
      (parts[2] as number) * 2 ** 8 +
      (parts[3] as number)) >>>
    0;
  const size = 2 ** (32 - Number(lenText));
  let n = start + (offset % size);
  if (n % 256 === 0) n += 1;
  if (n % 256 === 255) n -= 1;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
