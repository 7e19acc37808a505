import type { GeoPoint } from '../catalog/CameraRecord.ts';

// Incidents: the unit of access for investigators and for incident-only citizen cameras.

export const incidentKinds = ['panic_alarm', 'robbery', 'assault', 'missing_person', 'traffic', 'fire', 'public_order', 'other'] as const;
export type IncidentKind = (typeof incidentKinds)[number];

export const incidentStatuses = ['open', 'closed'] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];

/** How an incident ended. */
export const dispositions = ['resolved', 'false_alarm', 'referred', 'no_action', 'other'] as const;
export type Disposition = (typeof dispositions)[number];

/** Who did something, as recorded: the user's id and, for people reading records, the username. */
export interface Actor {
  userId: string;
  username: string;
}

/**
 * An incident: where and what, who opened it, the cameras attached to it (codes, nearest first
 * when attached at opening), and how it closed. Its timeline is in the audit trail (entries with
 * its id), never an array growing inside this record.
 */
export interface IncidentRecord {
  id: string;
  title: string;
  kind: IncidentKind;
  location: GeoPoint;
  /** Metres around the location where cameras were looked for at opening. */
  radiusM: number;
  municipality: string;
  status: IncidentStatus;
  /** Codes of the attached cameras; bounded by config (incidents.maxCameras). */
  cameras: string[];
  openedBy: Actor;
  openedAt: Date;
  closedBy?: Actor;
  closedAt?: Date;
  disposition?: Disposition;
  closingNote?: string;
  updatedAt: Date;
}

export type NewIncidentRecord = Omit<IncidentRecord, 'id' | 'updatedAt' | 'closedBy' | 'closedAt' | 'disposition' | 'closingNote'>;

export interface IncidentFilter {
  status?: IncidentStatus;
  /** Only incidents of these municipalities, when given (an operator's scope). */
  municipalities?: string[];
  municipality?: string;
  /** Only these ids, when given. */
  ids?: string[];
}

export const grantScopes = ['all', 'cameras'] as const;
/** 'all': every camera attached to the incident, now and later; 'cameras': a fixed subset (while attached). */
export type GrantScope = (typeof grantScopes)[number];

export const grantStatuses = ['active', 'revoked', 'expired', 'ended'] as const;
/** 'ended': the incident closed. A grant is live while 'active' and before its end time. */
export type GrantStatus = (typeof grantStatuses)[number];

/** One investigator's access to one incident's cameras, for a bounded time. */
export interface GrantRecord {
  id: string;
  incidentId: string;
  investigator: Actor;
  scope: GrantScope;
  /** scope 'cameras' only: the granted codes (each counts only while attached to the incident). */
  cameras?: string[];
  grantedBy: Actor;
  createdAt: Date;
  /** When access ends unless extended or revoked first. */
  endsAt: Date;
  status: GrantStatus;
  /** When it stopped being active (revoked, expired or ended). */
  endedAt?: Date;
  endedBy?: Actor;
  endReason?: string;
  updatedAt: Date;
}

export type NewGrantRecord = Omit<GrantRecord, 'id' | 'updatedAt' | 'endedAt' | 'endedBy' | 'endReason' | 'status'>;

/** A grant's end: applied only while it is still active (compare-and-set). */
export interface GrantEnd {
  status: Exclude<GrantStatus, 'active'>;
  endedAt: Date;
  endedBy?: Actor;
  endReason: string;
}

/** Whether a grant gives access at `now` (ms). */
export function grantIsLive(grant: Pick<GrantRecord, 'status' | 'endsAt'>, now = Date.now()): boolean {
  return grant.status === 'active' && grant.endsAt.getTime() > now;
}
