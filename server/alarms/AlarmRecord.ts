import type { CameraArea, GeoPoint } from '../catalog/CameraRecord.ts';
import type { Actor } from '../incidents/IncidentRecord.ts';

// Panic buttons: the alarm devices registered with the C5, and the alarms they raise.

export const alarmDeviceKinds = ['fixed_button', 'alarm_panel', 'mobile_app'] as const;
export type AlarmDeviceKind = (typeof alarmDeviceKinds)[number];

/** 'test': installers test the device; its alarms are received and audited but open no incident. */
export const alarmDeviceStatuses = ['active', 'suspended', 'retired', 'test'] as const;
export type AlarmDeviceStatus = (typeof alarmDeviceStatuses)[number];

/** Who answers for the device (the business or household that owns it). */
export interface AlarmDeviceOwner {
  name: string;
  /** A phone number operators call back on an alarm. */
  phone?: string;
  email?: string;
}

/**
 * A secret the server must use again (an HMAC key), sealed with AES-256-GCM under a named key
 * (`keyId:iv:tag:ciphertext`, base64url parts), never hashed.
 */
export type SealedSecret = string;

export const dc09Encryptions = ['none', 'aes128', 'aes192', 'aes256'] as const;
/** How a panel's SIA DC-09 frames are encrypted: AES-CBC with a 128, 192 or 256-bit key, or not at all. */
export type Dc09Encryption = (typeof dc09Encryptions)[number];

/** How an alarm panel reports over SIA DC-09 (IP event reporting). */
export interface Dc09Settings {
  /** The account the panel sends (`#acct`): 3-16 hex digits, upper case, unique among devices. */
  account: string;
  encryption: Dc09Encryption;
  /** The AES key (hex, 32/48/64 digits), sealed; present unless encryption is 'none'. */
  key?: SealedSecret;
  /** Clear frames from the device are answered DUH and audited (they could be forged). */
  encryptionRequired: boolean;
}

/** An alarm device: a fixed button, an alarm panel or a mobile app, owned, located and linked to cameras. */
export interface AlarmDeviceRecord {
  id: string;
  /** Unique; what the device sends to name itself (X-C5-Device, the DC-09 account). */
  code: string;
  name: string;
  kind: AlarmDeviceKind;
  owner: AlarmDeviceOwner;
  location: GeoPoint;
  address?: string;
  area: CameraArea;
  municipality: string;
  /** Codes of the cameras that see the place, attached first to its alarms' incidents. */
  cameras: string[];
  /** Seconds between the heartbeats the device reports; absent: not supervised. */
  supervisionIntervalS?: number;
  status: AlarmDeviceStatus;
  /** The HMAC-SHA256 key of the HTTP intake, sealed. */
  httpKey: SealedSecret;
  /** Panels that report over SIA DC-09 (absent: HTTP only). */
  dc09?: Dc09Settings;
  /** When the key was last issued (creation or rotation). */
  keyIssuedAt: Date;
  /** Last signed request accepted from it (alarm, heartbeat or test). */
  lastSeenAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type NewAlarmDeviceRecord = Omit<AlarmDeviceRecord, 'id' | 'createdAt' | 'updatedAt' | 'lastSeenAt'>;
export type AlarmDevicePatch = Partial<
  Pick<AlarmDeviceRecord, 'name' | 'kind' | 'owner' | 'location' | 'address' | 'area' | 'municipality' | 'cameras' | 'supervisionIntervalS' | 'status' | 'httpKey' | 'keyIssuedAt' | 'dc09'>
> & { /** Removes supervision. */ unsetSupervision?: boolean; unsetAddress?: boolean; /** Removes the DC-09 settings. */ unsetDc09?: boolean };

export interface AlarmDeviceFilter {
  status?: AlarmDeviceStatus[];
  kind?: AlarmDeviceKind;
  area?: CameraArea;
  municipality?: string;
  /** Case-insensitive substring of code, name or owner name. */
  q?: string;
  codes?: string[];
  /** Only devices with a supervision interval. */
  supervised?: boolean;
}

export const alarmStatuses = ['open', 'acknowledged', 'closed'] as const;
/** open: ringing; acknowledged: an operator took it; closed: with a disposition. */
export type AlarmStatus = (typeof alarmStatuses)[number];

export const alarmDispositions = ['real', 'false', 'test'] as const;
export type AlarmDisposition = (typeof alarmDispositions)[number];

/** How the alarm reached the C5. */
export const alarmSources = ['http', 'dc09'] as const;
export type AlarmSource = (typeof alarmSources)[number];

/** One alarm of one device: repeated presses within the join window are one alarm (presses counts them). */
export interface AlarmRecord {
  id: string;
  deviceId: string;
  deviceCode: string;
  incidentId: string;
  source: AlarmSource;
  /** Where it is: the device's place, or the app's own position when it sent one. */
  location: GeoPoint;
  positionSource: 'device' | 'app';
  /** Metres, when the app reported its position's accuracy. */
  accuracyM?: number;
  area: CameraArea;
  municipality: string;
  status: AlarmStatus;
  presses: number;
  /** What the device or app sent with its first press, shown to operators. */
  note?: string;
  firstAt: Date;
  lastAt: Date;
  /** 0: announced to the operators whose scope covers it; 1 and up: re-announced (wider). */
  announceLevel: number;
  announcedAt: Date;
  acknowledgedBy?: Actor;
  acknowledgedAt?: Date;
  closedBy?: Actor;
  closedAt?: Date;
  disposition?: AlarmDisposition;
  closingNote?: string;
  updatedAt: Date;
}

export type NewAlarmRecord = Omit<AlarmRecord, 'id' | 'updatedAt' | 'acknowledgedBy' | 'acknowledgedAt' | 'closedBy' | 'closedAt' | 'disposition' | 'closingNote'>;

export interface AlarmFilter {
  status?: AlarmStatus[];
  deviceId?: string;
  municipalities?: string[];
  areas?: CameraArea[];
  ids?: string[];
}
