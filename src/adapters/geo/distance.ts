/** Mean Earth radius (IUGG), the one the haversine figures in docs/risk-geo.md use. */
export const EARTH_RADIUS_KM = 6371;

const rad = (deg: number) => (deg * Math.PI) / 180;

/**
 * Great-circle distance between two points in km (haversine on a sphere of EARTH_RADIUS_KM). Pure;
 * good to about 0.5 % against the ellipsoid, far below what IP geolocation can tell apart.
 */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
