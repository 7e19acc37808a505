/**
 * What the operator typed in the "open an incident" form, checked before it is sent (the server
 * checks again): a title, a kind, a location (latitude and longitude, or "lat, lng" pasted into
 * the latitude field), an optional radius, the municipality.
 */
import { INCIDENT_KINDS, type IncidentKind, type NewIncident } from './IncidentsApi.ts';

export interface IncidentFields {
  title: string;
  kind: string;
  lat: string;
  lng: string;
  radiusM: string;
  municipality: string;
  autoAttach: boolean;
}

export type FieldName = keyof IncidentFields;

export type IncidentInput = { ok: true; value: NewIncident } | { ok: false; field: FieldName; message: string };

const MIN_RADIUS_M = 10;
const MAX_RADIUS_M = 50_000;

export function readIncidentInput(fields: IncidentFields): IncidentInput {
  const title = fields.title.trim();
  if (!title) return fail('title', 'enter a title');
  if (title.length > 200) return fail('title', 'the title is too long (200 characters at most)');
  if (!(INCIDENT_KINDS as readonly string[]).includes(fields.kind)) return fail('kind', 'choose a kind');
  let latText = fields.lat.trim();
  let lngText = fields.lng.trim();
  const pair = /^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/.exec(latText);
  if (pair && !lngText) [, latText = '', lngText = ''] = pair;
  const lat = parseNumber(latText);
  if (lat === undefined || lat < -90 || lat > 90) return fail('lat', 'the latitude is a number from -90 to 90');
  const lng = parseNumber(lngText);
  if (lng === undefined || lng < -180 || lng > 180) return fail('lng', 'the longitude is a number from -180 to 180');
  const radiusText = fields.radiusM.trim();
  let radiusM: number | undefined;
  if (radiusText) {
    radiusM = parseNumber(radiusText);
    if (radiusM === undefined || !Number.isInteger(radiusM) || radiusM < MIN_RADIUS_M || radiusM > MAX_RADIUS_M) {
      return fail('radiusM', `the radius is a whole number of metres from ${MIN_RADIUS_M} to ${MAX_RADIUS_M}`);
    }
  }
  const municipality = fields.municipality.trim();
  if (!municipality) return fail('municipality', 'enter the municipality');
  if (municipality.length > 100) return fail('municipality', 'the municipality is too long');
  return {
    ok: true,
    value: { title, kind: fields.kind as IncidentKind, location: { lat, lng }, ...(radiusM !== undefined && { radiusM }), municipality, autoAttach: fields.autoAttach },
  };
}

/** Camera codes typed in one field, separated by commas or spaces (each once, in order). */
export function readCameraCodes(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((code) => code.trim()).filter((code) => code.length > 0))];
}

function parseNumber(text: string): number | undefined {
  if (!/^-?\d+(?:\.\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function fail(field: FieldName, message: string): IncidentInput {
  return { ok: false, field, message };
}
