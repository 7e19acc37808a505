/**
 * The alarms REST API as the console uses it (issue #22): operators acknowledge and close alarms;
 * admins register, change, re-key and import alarm devices. JSON over fetch with the session's
 * bearer token (the import sends CSV as text/csv); a refused request throws ApiError with the
 * server's `{error:{code,message}}` (the message is what the user sees).
 *
 * A device's HTTP key (httpKey) is returned once by create, rotate-key and import, and so is an
 * alarm panel's SIA DC-09 AES key (dc09Key: by create, import, rotate-key with which 'dc09', and
 * a change of its DC-09 encryption): callers show them and drop them; nothing here keeps them.
 */
import type {
  AlarmCameraView,
  AlarmDeviceKind,
  AlarmDeviceStatus,
  AlarmDeviceStatusEvent,
  AlarmDeviceView,
  AlarmDisposition,
  AlarmStatus,
  AlarmView,
} from '../../server/signalling/protocol.ts';
import { RestClient, type RequestBody } from './RestClient.ts';

export type { AlarmCameraView, AlarmDeviceKind, AlarmDeviceStatus, AlarmDeviceStatusEvent, AlarmDeviceView, AlarmDisposition, AlarmStatus, AlarmView };

/** Fails to compile, naming the value, when the server has a value a list below lacks. */
type NoneMissing<Missing extends never> = Missing;
export const ALARM_DEVICE_KINDS = ['fixed_button', 'alarm_panel', 'mobile_app'] as const satisfies readonly AlarmDeviceKind[];
export const ALARM_DEVICE_STATUSES = ['active', 'test', 'suspended', 'retired'] as const satisfies readonly AlarmDeviceStatus[];
export const ALARM_DISPOSITIONS = ['real', 'false', 'test'] as const satisfies readonly AlarmDisposition[];
/** A DC-09 panel's settings as the server shows them, and its frames' encryption. */
export type AlarmDc09View = NonNullable<AlarmDeviceView['dc09']>;
export type Dc09Encryption = AlarmDc09View['encryption'];
/** In the order the form offers them (AES-128, the server's default, first). */
export const DC09_ENCRYPTIONS = ['aes128', 'aes192', 'aes256', 'none'] as const satisfies readonly Dc09Encryption[];
export type AlarmListsComplete = [
  NoneMissing<Exclude<AlarmDeviceKind, (typeof ALARM_DEVICE_KINDS)[number]>>,
  NoneMissing<Exclude<AlarmDeviceStatus, (typeof ALARM_DEVICE_STATUSES)[number]>>,
  NoneMissing<Exclude<AlarmDisposition, (typeof ALARM_DISPOSITIONS)[number]>>,
  NoneMissing<Exclude<Dc09Encryption, (typeof DC09_ENCRYPTIONS)[number]>>,
];

/** "aes128" -> "AES-128", "none" -> "no encryption". */
export function dc09EncryptionText(encryption: Dc09Encryption): string {
  return encryption === 'none' ? 'no encryption' : `AES-${encryption.slice(3)}`;
}

/**
 * A panel reporting over SIA DC-09: its account (3-16 hex digits); the server issues the AES key
 * (aes128 unless said) and, unless told otherwise, refuses the panel's clear frames when it has one.
 */
export interface Dc09Settings {
  account: string;
  encryption?: Dc09Encryption;
  encryptionRequired?: boolean;
}

export type AlarmDeviceArea = AlarmDeviceView['area'];

/** POST /api/alarm-devices. */
export interface NewAlarmDevice {
  code: string;
  name: string;
  kind: AlarmDeviceKind;
  owner: { name: string; phone?: string; email?: string };
  location: { lat: number; lng: number };
  address?: string;
  area: AlarmDeviceArea;
  municipality: string;
  cameras?: string[];
  supervisionIntervalS?: number;
  status?: 'active' | 'test';
  dc09?: Dc09Settings;
}

/** PATCH /api/alarm-devices/{id}: null removes the address, the supervision or the DC-09 settings. */
export interface AlarmDeviceChange {
  name?: string;
  kind?: AlarmDeviceKind;
  owner?: { name: string; phone?: string; email?: string };
  location?: { lat: number; lng: number };
  address?: string | null;
  area?: AlarmDeviceArea;
  municipality?: string;
  cameras?: string[];
  supervisionIntervalS?: number | null;
  status?: AlarmDeviceStatus;
  dc09?: Dc09Settings | null;
}

export interface AlarmDeviceQuery {
  status?: AlarmDeviceStatus[];
  kind?: AlarmDeviceKind;
  area?: AlarmDeviceArea;
  municipality?: string;
  q?: string;
  offset?: number;
  limit?: number;
}

/** A device with its new key(s) (shown once): created devices have an HTTP key, encrypted DC-09 panels a DC-09 key. */
export interface KeyedAlarmDevice {
  device: AlarmDeviceView;
  httpKey: string;
  dc09Key?: string;
}

/** A device after rotate-key: the one key that was asked for. */
export interface RotatedAlarmDevice {
  device: AlarmDeviceView;
  httpKey?: string;
  dc09Key?: string;
}

/** A changed device, and its new DC-09 key when the change issued one (shown once). */
export interface ChangedAlarmDevice {
  device: AlarmDeviceView;
  dc09Key?: string;
}

/** Which key rotate-key renews. */
export type AlarmKeyKind = 'http' | 'dc09';

/** The keys to show once for one device (the key dialog's entries). */
export interface AlarmDeviceKeys {
  code: string;
  httpKey?: string;
  dc09Key?: string;
}

/** POST /api/alarm-devices/import: what the CSV did, and the keys of the devices it created (shown once). */
export interface AlarmDeviceImportReport {
  rows: number;
  created: number;
  unchanged: number;
  errors: Array<{ line: number; code?: string; reason: string }>;
  keys: Array<{ code: string; httpKey: string; dc09Key?: string }>;
}

export class AlarmsApi {
  /** `getToken` is read at every request (the session refreshes it). */
  readonly #rest: RestClient;

  constructor(getToken: () => string | undefined) {
    this.#rest = new RestClient(getToken);
  }

  /** The alarms not closed in this user's scope. */
  listAlarms(status: AlarmStatus[] = ['open', 'acknowledged']): Promise<{ items: AlarmView[]; total: number }> {
    return this.#call('GET', `/api/alarms?${new URLSearchParams({ status: status.join(',') }).toString()}`);
  }

  /** Takes the alarm; another operator's earlier acknowledgement is a 409 invalid_state naming them. */
  acknowledge(id: string): Promise<AlarmView> {
    return this.#call('POST', `/api/alarms/${enc(id)}/acknowledge`, { json: {} });
  }

  /** 'real' keeps the alarm's incident open; 'false' and 'test' close it. */
  closeAlarm(id: string, disposition: AlarmDisposition, note?: string): Promise<AlarmView> {
    return this.#call('POST', `/api/alarms/${enc(id)}/close`, { json: { disposition, ...(note && { note }) } });
  }

  listDevices(query: AlarmDeviceQuery = {}): Promise<{ items: AlarmDeviceView[]; total: number }> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query) as Array<[string, unknown]>) {
      if (value === undefined || value === '') continue;
      params.set(key, Array.isArray(value) ? value.join(',') : String(value));
    }
    const search = params.toString();
    return this.#call('GET', `/api/alarm-devices${search ? `?${search}` : ''}`);
  }

  createDevice(device: NewAlarmDevice): Promise<KeyedAlarmDevice> {
    return this.#call('POST', '/api/alarm-devices', { json: device });
  }

  /** The changed device; a DC-09 key the change issued (the server adds it to the view) is taken out of the view. */
  async updateDevice(id: string, change: AlarmDeviceChange): Promise<ChangedAlarmDevice> {
    const { dc09Key, ...device } = await this.#call<AlarmDeviceView & { dc09Key?: unknown }>('PATCH', `/api/alarm-devices/${enc(id)}`, { json: change });
    return { device, ...(typeof dc09Key === 'string' && dc09Key && { dc09Key }) };
  }

  /** A new HTTP key, or a new DC-09 AES key, for the device; the old one stops working. */
  rotateKey(id: string, which: AlarmKeyKind = 'http'): Promise<RotatedAlarmDevice> {
    return this.#call('POST', `/api/alarm-devices/${enc(id)}/rotate-key`, { json: { which } });
  }

  /** Devices from a CSV file's text (sent as text/csv). */
  importDevices(csv: string): Promise<AlarmDeviceImportReport> {
    return this.#call('POST', '/api/alarm-devices/import', { text: csv, contentType: 'text/csv' });
  }

  #call<T>(method: string, path: string, body?: RequestBody): Promise<T> {
    return this.#rest.call<T>(method, path, body);
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
