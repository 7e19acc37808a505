/** One audit entry: part of an HMAC-keyed hash chain, never edited, deleted only by retention. */
export interface AuditEntry {
  seq: number;
  /** ISO 8601. */
  at: string;
  action: string;
  userId?: string;
  username?: string;
  cameraId?: string;
  /** The incident the action belongs to, or that allowed the view. */
  incidentId?: string;
  /** The alarm device the action concerns (its id): a device's timeline. */
  deviceId?: string;
  ip?: string;
  details?: Record<string, unknown>;
  /** The previous entry's hash ('genesis' for the first). */
  prevHash: string;
  /** HMAC-SHA256 (hex) over the entry's canonical JSON without `hash`. */
  hash: string;
}

export interface AuditFilter {
  userId?: string;
  cameraId?: string;
  incidentId?: string;
  deviceId?: string;
  action?: string;
  from?: Date;
  to?: Date;
}

export function matchesAudit(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.userId && entry.userId !== filter.userId) return false;
  if (filter.cameraId && entry.cameraId !== filter.cameraId) return false;
  if (filter.incidentId && entry.incidentId !== filter.incidentId) return false;
  if (filter.deviceId && entry.deviceId !== filter.deviceId) return false;
  if (filter.action && entry.action !== filter.action && !entry.action.startsWith(`${filter.action}.`)) return false;
  const at = Date.parse(entry.at);
  if (filter.from && at < filter.from.getTime()) return false;
  if (filter.to && at > filter.to.getTime()) return false;
  return true;
}
