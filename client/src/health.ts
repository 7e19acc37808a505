/**
 * How the console names and orders the health statuses. A Record over HealthFilter, so a status the
 * catalog gains without a label here fails to compile; its key order is the display order (the
 * healthy bulk first, then what needs attention, then not probed yet). Kept here rather than imported
 * from protocol.ts, which the console uses for types only (a value from it would bundle zod).
 */
import type { CameraHealth, HealthFilter } from '../../server/signalling/protocol.ts';

export const HEALTH_LABEL: Readonly<Record<HealthFilter, string>> = {
  reachable: 'reachable',
  unreachable: 'unreachable',
  unauthorized: 'unauthorized',
  locked_out: 'locked out',
  busy: 'busy',
  unknown: 'unknown',
};

/** Every health, in display order. */
export const HEALTH_ORDER = Object.keys(HEALTH_LABEL) as readonly HealthFilter[];

export function isHealth(value: string): value is HealthFilter {
  return Object.hasOwn(HEALTH_LABEL, value);
}

/** "H264 1280×720 · 25 fps" from what the camera's SDP described; '' when nothing is known. */
export function streamSummary(stream: CameraHealth['stream']): string {
  if (!stream) return '';
  const parts = [stream.codec.toUpperCase()];
  if (stream.width && stream.height) parts.push(`${stream.width}×${stream.height}`);
  let text = parts.join(' ');
  if (stream.fps) text += ` · ${Number.isInteger(stream.fps) ? stream.fps : stream.fps.toFixed(1)} fps`;
  return text;
}
