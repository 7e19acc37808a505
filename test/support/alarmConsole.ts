import { io } from 'socket.io-client';
import type { ClientSocket } from './signallingClient.ts';
import type { TestApp } from './pipelineApp.ts';
import { signedHeaders } from '../../server/alarms/AlarmSignature.ts';
import type { AlarmDeviceRecord } from '../../server/alarms/AlarmRecord.ts';
import type { DeviceCreate } from '../../server/alarms/alarmSchemas.ts';
import type { Role } from '../../server/auth/Identity.ts';
import type { CameraArea } from '../../server/catalog/CameraRecord.ts';
import type { AlarmDeviceStatusEvent, AlarmView } from '../../server/signalling/protocol.ts';

// Helpers of the alarm (#22) lifecycle and event tests: consoles that record every event from the
// moment they connect, signed presses, REST calls.

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Heard {
  event: string;
  payload: unknown;
  at: number;
}

/**
 * A Socket.IO console whose listener is attached before it connects, so the `alarmsOpen` sent
 * right at connection is recorded too (connectClient resolves on 'connect' and could miss it).
 */
export class AlarmConsole {
  readonly heard: Heard[] = [];

  private constructor(readonly socket: ClientSocket) {}

  static async open(baseUrl: string, token: string): Promise<AlarmConsole> {
    const socket: ClientSocket = io(baseUrl, { path: '/socket.io', auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false });
    const console = new AlarmConsole(socket);
    socket.onAny((event: string, payload: unknown) => console.heard.push({ event, payload, at: Date.now() }));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
      socket.connect();
    });
    return console;
  }

  /** alarmRaised events about this alarm, in order. */
  raised(alarmId: string): AlarmView[] {
    return this.#alarms('alarmRaised', alarmId);
  }

  /** alarmChanged events about this alarm, in order. */
  changed(alarmId: string): AlarmView[] {
    return this.#alarms('alarmChanged', alarmId);
  }

  /** Every alarm event (raised or changed) about this alarm. */
  about(alarmId: string): Heard[] {
    return this.heard.filter((heard) => (heard.event === 'alarmRaised' || heard.event === 'alarmChanged') && (heard.payload as AlarmView).id === alarmId);
  }

  /** The alarmsOpen received at connection. */
  get opened(): { alarms: AlarmView[]; offlineDevices: AlarmDeviceStatusEvent[] } | undefined {
    return this.heard.find((heard) => heard.event === 'alarmsOpen')?.payload as { alarms: AlarmView[]; offlineDevices: AlarmDeviceStatusEvent[] } | undefined;
  }

  deviceStatus(deviceId: string): AlarmDeviceStatusEvent[] {
    return this.heard.filter((heard) => heard.event === 'alarmDeviceStatus' && (heard.payload as AlarmDeviceStatusEvent).deviceId === deviceId).map((heard) => heard.payload as AlarmDeviceStatusEvent);
  }

  close(): void {
    this.socket.close();
  }

  #alarms(event: string, alarmId: string): AlarmView[] {
    return this.heard.filter((heard) => heard.event === event && (heard.payload as AlarmView).id === alarmId).map((heard) => heard.payload as AlarmView);
  }
}

/** Polls until `find` returns something (not undefined / false), or fails naming `what`. */
export async function waitFor<T>(find: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export interface SignedIn {
  id: string;
  username: string;
  token: string;
}

export async function signIn(t: TestApp, role: Role, assignments?: { areas?: CameraArea[]; municipalities?: string[] }): Promise<SignedIn> {
  const id = await t.user(role, assignments);
  return { id, username: t.app.users.get(id).username, token: t.app.tokens.issue({ userId: id, role, authTime: Math.floor(Date.now() / 1000) }).token };
}

/** A REST call with a bearer token: status and parsed body. */
export async function api(t: TestApp, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.app.consoleUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export interface TestDevice {
  device: AlarmDeviceRecord;
  key: string;
}

let deviceSerial = 0;

/** Registers an alarm device through the service (no schema: a test may use a short supervision interval). */
export async function addDevice(t: TestApp, input: Partial<DeviceCreate> & { municipality: string; location: { lat: number; lng: number } }): Promise<TestDevice> {
  const { device, httpKey } = await t.app.alarmDevices.create(undefined, {
    code: `BTN-${process.pid}-${++deviceSerial}`,
    name: `Button ${deviceSerial}`,
    kind: 'fixed_button',
    owner: { name: 'Tienda La Esquina', phone: '+52 55 1234 5678' },
    area: 'agency',
    cameras: [],
    status: 'active',
    ...input,
  });
  return { device, key: httpKey };
}

/** A signed POST /api/alarms from the device. */
export async function press(t: TestApp, device: TestDevice, body: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const text = JSON.stringify(body);
  const res = await fetch(`${t.app.consoleUrl}/api/alarms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: device.device.code, keyHex: device.key, body: text }) },
    body: text,
  });
  const answer = await res.text();
  return { status: res.status, body: answer ? JSON.parse(answer) : undefined };
}

/** Audit entries of an incident (optionally one action), oldest first. */
export async function auditOf(t: TestApp, incidentId: string, action?: string): Promise<Array<{ action: string; incidentId?: string; username?: string; details?: Record<string, any>; at: string; seq: number }>> {
  const page = await t.app.audit.query({ incidentId, ...(action && { action }) }, { offset: 0, limit: 500 });
  return [...page.items].sort((a, b) => a.seq - b.seq) as never;
}
