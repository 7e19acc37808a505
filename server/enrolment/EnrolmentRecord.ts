import type { CameraCategory, GeoPoint, SharingMode } from '../catalog/CameraRecord.ts';

// A citizen's self-service enrolment of a camera in the collaborative-video program (issue 26):
// who enrolled it and how to reach them (personal data, erased after the retention period once the
// enrolment is closed), what they consented to, and the pending camera it created in the catalog.

/**
 * pending: awaiting the agency's review; approved: in the program; rejected: refused by a reviewer
 * (the reason is shown to the owner); withdrawn: the owner took the camera out (its camera is
 * revoked); revoked: the agency revoked or deleted the camera (the reason is shown to the owner).
 * Rejected, withdrawn and revoked are closed: the personal data is erased after the retention.
 */
export const enrolmentStatuses = ['pending', 'approved', 'rejected', 'withdrawn', 'revoked'] as const;
export type EnrolmentStatus = (typeof enrolmentStatuses)[number];

/** The owner-facing verdict of an RTSP check: never a socket error, never an address. */
export const checkResults = ['reachable', 'unauthorized', 'unreachable'] as const;
export type CheckResult = (typeof checkResults)[number];

export const enrolmentLanguages = ['es-MX', 'en'] as const;
export type EnrolmentLanguage = (typeof enrolmentLanguages)[number];

/** The last RTSP check of the enrolment's camera. */
export interface EnrolmentCheck {
  result: CheckResult;
  at: Date;
  /** For reviewers only: the RTSP client's reason (no credentials, no addresses), e.g. "401 Unauthorized". */
  detail?: string;
  /** What the camera's SDP described, when reachable. */
  video?: { codec: string; width?: number; height?: number };
}

/** Personal data: shown to admins only, never logged, erased `retentionDays` after the enrolment closed. */
export interface EnrolmentPersonalData {
  ownerName: string;
  email?: string;
  phone?: string;
  /** The street address where the camera is. */
  address: string;
}

export interface EnrolmentRecord {
  id: string;
  /** The reference the owner and the agency quote, e.g. "ENR-7K3F9Q2M": unique forever. */
  reference: string;
  /** The catalog camera this enrolment created (area citizen, status pending until reviewed). */
  cameraCode: string;
  ownerKind: 'organisation' | 'person';
  /** Absent once erased (`erasedAt`). */
  personal?: EnrolmentPersonalData;
  /** Lower-cased e-mail or digits-only phone: the per-contact rate limit's key; erased with `personal`. */
  contactKey?: string;
  category: CameraCategory;
  location: GeoPoint;
  sharing: SharingMode;
  /** The program agreement's version the owner accepted, and when. */
  agreementVersion: string;
  agreementAcceptedAt: Date;
  language: EnrolmentLanguage;
  /** SHA-256 (base64url) of the owner's status token (StatusToken); a reissue replaces it. */
  statusTokenHash: string;
  status: EnrolmentStatus;
  /** A rejection's reason (shown to the owner), or the owner's withdrawal note. */
  statusReason?: string;
  statusChangedAt: Date;
  /** Lower-cased "host:port/path" of the camera URL, without credentials: duplicate detection. */
  endpointKey: string;
  check?: EnrolmentCheck;
  createdAt: Date;
  updatedAt: Date;
  /** When rejected, withdrawn or revoked (the retention period runs from here). */
  closedAt?: Date;
  /** When the personal data was erased. */
  erasedAt?: Date;
}

export type NewEnrolmentRecord = Omit<EnrolmentRecord, 'id' | 'createdAt' | 'updatedAt' | 'statusChangedAt' | 'closedAt' | 'erasedAt'>;

/** Fields an update may set. */
export type EnrolmentPatch = Partial<Pick<EnrolmentRecord, 'sharing' | 'statusTokenHash' | 'endpointKey' | 'check' | 'location' | 'category'>>;

/** A status change, applied only while the enrolment has one of the `from` statuses. */
export interface EnrolmentStatusChange {
  from: EnrolmentStatus[];
  to: EnrolmentStatus;
  reason?: string;
  /** Also set closedAt (rejected, withdrawn). */
  close?: boolean;
}

export interface EnrolmentFilter {
  status?: EnrolmentStatus[];
  /** Enrolments whose endpointKey is one of these (duplicate detection). */
  endpointKeys?: string[];
}
