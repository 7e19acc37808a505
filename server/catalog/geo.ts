import type { GeoPoint } from './CameraRecord.ts';

const EARTH_RADIUS_KM = 6378.1;

/** Great-circle distance (haversine) in km, on the sphere MongoDB's $centerSphere uses. */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The radius MongoDB's $centerSphere takes: radians on that sphere. */
export function radiusInRadians(radiusKm: number): number {
  return radiusKm / EARTH_RADIUS_KM;
}

/** Escapes a user string for literal use inside a RegExp. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
