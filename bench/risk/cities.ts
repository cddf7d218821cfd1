/**
 * Public IPv4 ranges of Chinese cities, for the synthetic day's sellers (docs/risk-replay.md). Each
 * city is given by ranges China Telecom or China Unicom announce for it, narrowed to the /20 blocks
 * the risk engine's bundled geo-IP database (DB-IP City Lite) places within 150 km of the city: the
 * announced blocks hold pieces that database puts in another province (Hangzhou's 60.180.0.0/15 is
 * Wenzhou's, parts of 219.136.0.0/15 read as Beijing), and an honest seller moving between them
 * would look like a geo jump. `checkCities` in the replay prints any address that still does not
 * resolve to its city. Coordinates are the city centre.
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
    ranges: ['61.135.0.0/16', '123.112.0.0/13'],
  },
  {
    code: 'shanghai',
    name: 'Shanghai',
    lat: 31.23,
    lon: 121.474,
    ranges: [
      '58.32.0.0/17',
      '58.32.128.0/18',
      '58.32.224.0/20',
      '58.33.0.0/16',
      '58.34.0.0/15',
      '58.36.0.0/14',
      '116.224.0.0/14',
      '116.228.0.0/19',
      '116.228.48.0/20',
      '116.228.64.0/19',
      '116.228.112.0/20',
      '116.228.144.0/20',
      '116.228.208.0/20',
      '116.228.224.0/19',
      '116.229.0.0/20',
      '116.229.32.0/19',
      '116.229.64.0/18',
      '116.229.128.0/17',
      '116.230.0.0/15',
      '116.232.0.0/14',
      '116.236.0.0/17',
      '116.236.128.0/19',
      '116.237.0.0/16',
      '116.238.0.0/16',
      '116.239.16.0/20',
      '116.239.32.0/19',
      '116.239.64.0/18',
      '116.239.128.0/17',
    ],
  },
  {
    code: 'guangzhou',
    name: 'Guangzhou',
    lat: 23.129,
    lon: 113.264,
    ranges: [
      '113.108.0.0/18',
      '113.108.64.0/19',
      '113.108.96.0/20',
      '113.108.128.0/18',
      '113.108.192.0/20',
      '113.108.240.0/20',
      '219.136.32.0/20',
      '219.136.80.0/20',
      '219.136.160.0/20',
      '219.137.48.0/20',
      '219.137.64.0/19',
      '219.137.96.0/20',
      '219.137.128.0/20',
    ],
  },
  {
    code: 'chengdu',
    name: 'Chengdu',
    lat: 30.573,
    lon: 104.066,
    ranges: [
      '118.112.0.0/16',
      '118.113.0.0/18',
      '118.113.96.0/19',
      '118.113.128.0/17',
      '118.114.0.0/19',
      '118.114.48.0/20',
      '118.114.64.0/18',
      '118.114.128.0/19',
      '118.114.176.0/20',
      '118.114.192.0/18',
      '118.115.0.0/16',
      '125.70.0.0/16',
    ],
  },
  {
    code: 'urumqi',
    name: 'Urumqi',
    lat: 43.826,
    lon: 87.617,
    ranges: [
      '110.152.0.0/15',
      '110.154.0.0/18',
      '110.154.64.0/20',
      '110.154.96.0/19',
      '110.154.128.0/17',
      '110.155.0.0/18',
      '110.155.64.0/19',
      '110.155.96.0/20',
      '110.155.128.0/17',
      '124.117.0.0/17',
      '124.117.128.0/18',
      '124.117.192.0/19',
      '124.117.224.0/20',
    ],
  },
  {
    code: 'harbin',
    name: 'Harbin',
    lat: 45.803,
    lon: 126.535,
    ranges: [
      '221.208.0.0/19',
      '221.208.64.0/18',
      '221.208.128.0/18',
      '221.208.192.0/20',
      '221.209.0.0/18',
      '221.209.64.0/19',
      '221.210.0.0/18',
      '221.210.64.0/19',
      '221.210.96.0/20',
      '221.210.128.0/19',
      '221.210.192.0/18',
      '221.211.0.0/20',
      '221.211.32.0/20',
      '221.211.64.0/19',
      '221.211.96.0/20',
      '221.211.128.0/19',
      '221.211.192.0/18',
    ],
  },
  { code: 'wuhan', name: 'Wuhan', lat: 30.593, lon: 114.305, ranges: ['58.48.0.0/13', '59.172.0.0/15'] },
  { code: 'xian', name: "Xi'an", lat: 34.341, lon: 108.94, ranges: ['113.200.0.0/15'] },
  {
    code: 'hangzhou',
    name: 'Hangzhou',
    lat: 30.274,
    lon: 120.155,
    ranges: ['60.176.0.0/14', '60.182.0.0/15'],
  },
  {
    code: 'kunming',
    name: 'Kunming',
    lat: 25.038,
    lon: 102.718,
    ranges: [
      '116.52.0.0/16',
      '116.53.0.0/17',
      '116.53.128.0/19',
      '116.53.176.0/20',
      '116.53.192.0/18',
      '116.54.0.0/16',
      '116.55.0.0/18',
      '116.55.64.0/19',
      '116.55.112.0/20',
      '116.55.128.0/17',
    ],
  },
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
