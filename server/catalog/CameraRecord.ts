import type { RtspTransport } from '../../workers/common/RtspTransport.ts';

// The catalog's camera: registered, owned, approved and revocable, and the vocabulary it uses.

export const cameraAreas = ['agency', 'citizen'] as const;
export type CameraArea = (typeof cameraAreas)[number];

export const cameraCategories = ['bank', 'hospital', 'religious', 'commercial', 'home', 'street', 'other'] as const;
export type CameraCategory = (typeof cameraCategories)[number];

export const approvalStatuses = ['pending', 'approved', 'rejected', 'suspended', 'revoked'] as const;
export type ApprovalStatus = (typeof approvalStatuses)[number];

export const sharingModes = ['live', 'incident-only'] as const;
export type SharingMode = (typeof sharingModes)[number];

/**
 * How a camera's video reaches mediasoup: 'relay' forwards its H.264 RTP untouched, 'ffmpeg' copies
 * or transcodes it, 'auto' (the default) relays H.264 without B-frames and uses ffmpeg otherwise.
 */
export const cameraEngines = ['auto', 'relay', 'ffmpeg'] as const;
export type CameraEngine = (typeof cameraEngines)[number];

export interface CameraOwner {
  kind: 'organisation' | 'person';
  name: string;
  contact?: string;
  /** For citizen cameras: the business or household agreement reference. */
  agreementRef?: string;
  /** For citizen cameras: who enrolled it. */
  enrolledBy?: string;
}

export interface GeoPoint {
  lat: number;
  lng: number;
}

/** An RTSP URL as stored: encrypted whole (it may carry credentials), plus a masked form to show. */
export interface SealedUrl {
  /** `rtsp://***@host:port/path` when it has credentials, else the URL itself. */
  masked: string;
  /** `keyId:iv:tag:ciphertext` (base64url), AES-256-GCM. */
  sealed: string;
}

/**
 * The prober's verdicts. 'locked_out': the camera locked our login out after refused logins (403 after
 * 401s); 'busy': it refused a session because it serves too many (RTSP 453, or 403 without credentials).
 */
export const healthStatuses = ['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable'] as const;
export type HealthStatus = (typeof healthStatuses)[number];

/** The health filter values: every HealthStatus, then 'unknown' (not probed yet). */
export const healthFilterValues = [...healthStatuses, 'unknown'] as const;

/** What a camera's SDP described at the last successful probe. */
export interface CameraStreamInfo {
  codec: string;
  width?: number;
  height?: number;
  profileLevelId?: string;
  fps?: number;
}

/** The prober's verdict, stored only when it changes. */
export interface CameraHealthRecord {
  status: HealthStatus;
  since: Date;
  lastSeenAt?: Date;
  message?: string;
  /** What the camera's SDP described at the last successful probe. */
  stream?: CameraStreamInfo;
  /** The URL that answered after redirects, when it differs from the registered one (masked, no credentials). */
  redirectedTo?: string;
}

/** The catalog's camera: registered, owned, approved and revocable. */
export interface CameraRecord {
  id: string;
  /** Unique forever: never reused, even after revocation or retirement. */
  code: string;
  name: string;
  area: CameraArea;
  owner: CameraOwner;
  category: CameraCategory;
  municipality: string;
  location?: GeoPoint;
  mainUrl: SealedUrl;
  substreamUrl?: SealedUrl;
  transport: RtspTransport;
  /**
   * rtsps cameras only: the SHA-256 fingerprint of the camera's certificate, pinned (self-signed
   * cameras), upper-case colon-separated hex. Absent: verified against the system's CAs.
   */
  tlsFingerprint?: string;
  /** The ingest engine to use; absent means 'auto'. */
  engine?: CameraEngine;
  /** Citizen cameras only. */
  sharing?: SharingMode;
  status: ApprovalStatus;
  statusReason?: string;
  statusChangedAt: Date;
  alwaysOn: boolean;
  tags: string[];
  createdAt: Date;
  updatedAt: Date;
  /** Set when the camera was deleted: kept for the audit trail, never viewable, code never reused. */
  retiredAt?: Date;
  /** Absent until the prober has checked it. */
  health?: CameraHealthRecord;
  /** Each live stream's resolution, learned from its SPS when it last ran (absent until then). */
  streamSizes?: StreamSizes;
}

/** A stream's picture size in pixels. */
export interface PictureSize {
  width: number;
  height: number;
}

/** The main stream's and the substream's resolutions, as learned from their SPS. */
export interface StreamSizes {
  main?: PictureSize;
  sub?: PictureSize;
}

export type NewCameraRecord = Omit<CameraRecord, 'id' | 'createdAt' | 'updatedAt' | 'statusChangedAt' | 'retiredAt' | 'health' | 'streamSizes'>;

/** Fields a PATCH may change (code, status and timestamps have their own paths). */
export type CameraPatch = Partial<Pick<CameraRecord, 'name' | 'owner' | 'category' | 'municipality' | 'mainUrl' | 'transport' | 'engine' | 'sharing' | 'alwaysOn' | 'tags'>> & {
  /** null removes it. */
  location?: GeoPoint | null;
  substreamUrl?: SealedUrl | null;
  tlsFingerprint?: string | null;
};

export interface CameraFilter {
  area?: CameraArea;
  status?: ApprovalStatus[];
  municipality?: string;
  /** Cameras within radiusKm of the point (great-circle distance). */
  near?: GeoPoint & { radiusKm: number };
  /** Case-insensitive substring of the name or the code (matched literally, never as a pattern). */
  q?: string;
  /** 'unknown': not probed yet. */
  health?: HealthStatus | 'unknown';
  /** Only these codes, when given. */
  codes?: string[];
  /** The visibility policy's scope: one of these areas, one of these municipalities, citizen cameras only with this sharing. */
  areas?: CameraArea[];
  municipalities?: string[];
  citizenSharing?: SharingMode;
  /**
   * Widens the scope above: a camera also matches when its code is one of these (and its area is
   * this one, when given). Incidents' cameras and break-glass views (VisibilityPolicy.scope).
   */
  orCameras?: { codes: string[]; area?: CameraArea };
  includeRetired?: boolean;
}

export interface Page {
  offset: number;
  limit: number;
}

export interface CameraListResult {
  items: CameraRecord[];
  total: number;
}

/** A status change, applied only if the camera still has one of the `from` statuses. */
export interface StatusChange {
  from: ApprovalStatus[];
  to: ApprovalStatus;
  reason: string;
}
