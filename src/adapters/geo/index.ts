export { distanceKm, EARTH_RADIUS_KM } from './distance.js';
export {
  createDbipLocator,
  type DbipLocatorOptions,
  type GeoPoint,
  type IpLocator,
  ipLocator,
} from './locate.js';
