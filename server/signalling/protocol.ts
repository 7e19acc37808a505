/**
 * The Socket.IO protocol between the console (client/) and the server: event names, payloads,
 * acknowledgements. Imported by both sides; the server validates every payload with the zod
 * schemas below. Types only from mediasoup-client, so this file pulls no runtime into the server.
 */
import { z } from 'zod';
import type { types as msc } from 'mediasoup-client';
import type { CameraState } from '../cameras/CameraStatus.ts';
import type { CameraArea, HealthStatus } from '../catalog/CameraRecord.ts';
import type { Disposition, GrantScope, GrantStatus, IncidentKind, IncidentStatus } from '../incidents/IncidentRecord.ts';
import type { AlarmDeviceKind, AlarmDeviceStatus, AlarmDisposition, AlarmSource, AlarmStatus } from '../alarms/AlarmRecord.ts';

// The domain's unions, declared once beside what they describe, re-exported for the console.
// Only types come from server/ (rule protocol-types-only): the console bundles this file, and a value
// imported here would bring server code along.
export type { CameraArea, CameraState, HealthStatus, Disposition, GrantScope, GrantStatus, IncidentKind, IncidentStatus };
export type { AlarmDeviceKind, AlarmDeviceStatus, AlarmDisposition, AlarmSource, AlarmStatus };

/** The areas, for the listCameras schema: a local list, checked against CameraArea both ways at compile time. */
const cameraAreas = ['agency', 'citizen'] as const satisfies readonly CameraArea[];
/** The health filter values: the catalog's HealthStatus plus 'unknown', checked the same way. */
const healthFilters = ['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable', 'unknown'] as const satisfies readonly (HealthStatus | 'unknown')[];
/** Fails to compile, naming the value, when the catalog has a value a list above lacks. */
type NoneMissing<Missing extends never> = Missing;
export type ProtocolListsComplete = [NoneMissing<Exclude<CameraArea, (typeof cameraAreas)[number]>>, NoneMissing<Exclude<HealthStatus, (typeof healthFilters)[number]>>];

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Every acknowledgement: the result's fields, or `{ error }`. */
export type Ack<T> = (T & { error?: undefined }) | { error: ApiErrorBody };
export type AckCallback<T> = (answer: Ack<T>) => void;

export type HealthFilter = HealthStatus | 'unknown';

/** What the prober last learned of a camera without watching it. */
export interface CameraHealth {
  status: HealthFilter;
  /** Since when it has had this status (epoch ms). */
  since?: number;
  /** Last time it answered (epoch ms). */
  lastSeenAt?: number;
  /** The prober's reason (e.g. why the camera refused the session). */
  message?: string;
  /** What the camera's SDP described at the last successful probe. */
  stream?: { codec: string; width?: number; height?: number; profileLevelId?: string; fps?: number };
}

/**
 * A camera's live streams: 'main' (its main RTSP URL), 'sub' (its substream URL, when it has one)
 * and 'low' (the server's shared low-tier transcode of the main stream, for capped sessions).
 */
export const streamNames = ['main', 'sub', 'low'] as const;
export type StreamName = (typeof streamNames)[number];

/** Why the server gave a tile the stream it did. */
export type StreamReason =
  /** The smallest stream whose resolution covers the tile (device pixels). */
  | 'tile_size'
  /** A full-screen or maximised tile gets the main stream. */
  | 'fullscreen'
  /** The client asked for this stream. */
  | 'requested'
  /** A better stream would take the session over its role's bandwidth cap. */
  | 'bandwidth_cap'
  /** No tile size was reported: the main stream. */
  | 'default'
  /** The substream the tile's size called for could not be started: the main stream (or, under a cap, the low tier) instead. */
  | 'substream_down';

/** The stream a tile got: its name, resolution when known (px), and why. */
export interface StreamChoice {
  name: StreamName;
  width?: number;
  height?: number;
  reason: StreamReason;
}

/** A tile's displayed size in device pixels (CSS px x devicePixelRatio), and whether it fills the screen. */
export interface TileSize {
  width: number;
  height: number;
  fullscreen?: boolean;
}

/** A session's measured bit rates (kbit/s, over the last sampling period) and its role's cap (null: none). */
export interface SessionBandwidth {
  capKbps: number | null;
  totalKbps: number;
  /** `measured`: false while a consumer has not been measured over a whole period yet (kbps is then the server's estimate). */
  consumers: Array<{ consumerId: string; cameraId: string; stream: StreamName; kbps: number; measured: boolean }>;
}

export interface CameraSummary {
  /** The camera's code: its id on the live path. */
  id: string;
  name: string;
  area: CameraArea;
  municipality: string;
  health: CameraHealth;
  status: CameraStatusMessage;
}

export interface CameraPage {
  cameras: CameraSummary[];
  /** Cameras matching the filter (all pages). */
  total: number;
  /** Over every camera this user may see, whatever the filter: the fleet at a glance. */
  healthCounts: Record<HealthFilter, number>;
  /** Municipalities of the cameras this user may see, for the filter. */
  municipalities: string[];
}

export interface CameraStatusMessage {
  cameraId: string;
  state: CameraState;
  since: number;
  viewers: number;
  reason?: string;
  message?: string;
  retryInMs?: number;
  transcodeReason?: string;
  /** How the camera reaches mediasoup in its current run: the packet relay or ffmpeg (copy or transcode). */
  engine?: 'relay' | 'ffmpeg';
}

// ---- REST views of incidents (#21), declared here so the console and the server share them ----

/** Who did something: a user's id and username. */
export interface ActorView {
  userId: string;
  username: string;
}

/** An incident as GET /api/incidents answers it (times ISO 8601). */
export interface IncidentView {
  id: string;
  title: string;
  kind: IncidentKind;
  location: { lat: number; lng: number };
  /** Metres. */
  radiusM: number;
  municipality: string;
  status: IncidentStatus;
  /** Attached cameras in attachment order; distance from the incident in metres when located. */
  cameras: Array<{ code: string; name: string; area: string; municipality: string; distanceM?: number }>;
  openedBy: ActorView;
  openedAt: string;
  closedBy?: ActorView;
  closedAt?: string;
  disposition?: Disposition;
  closingNote?: string;
}

/** A grant as the API answers it (times ISO 8601); `live`: active and before its end. */
export interface GrantView {
  id: string;
  incidentId: string;
  investigator: ActorView;
  scope: GrantScope;
  cameras?: string[];
  grantedBy: ActorView;
  createdAt: string;
  endsAt: string;
  status: GrantStatus;
  endedAt?: string;
  endedBy?: ActorView;
  endReason?: string;
  live: boolean;
}

/** One of the investigator's live grants (GET /api/grants/mine). */
export interface MyGrantView {
  grant: GrantView;
  incident: Pick<IncidentView, 'id' | 'title' | 'kind' | 'municipality' | 'location' | 'status'>;
  /** The codes this grant lets the investigator watch now. */
  cameras: string[];
}

/** A break-glass view as POST /api/break-glass answers it. */
export interface BreakGlassView {
  id: string;
  camera: string;
  reason: string;
  startedAt: string;
  until: string;
}

// ---- alarms (#22): REST views and the events that ring operators' consoles ----

/** An alarm device as the API answers it (never its key). `online`: supervised devices only. */
export interface AlarmDeviceView {
  id: string;
  code: string;
  name: string;
  kind: AlarmDeviceKind;
  owner: { name: string; phone?: string; email?: string };
  location: { lat: number; lng: number };
  address?: string;
  area: CameraArea;
  municipality: string;
  cameras: string[];
  supervisionIntervalS?: number;
  status: AlarmDeviceStatus;
  keyIssuedAt: string;
  lastSeenAt?: string;
  /** Supervised devices: whether a heartbeat came within the interval (plus grace). */
  online?: boolean;
  /** Panels reporting over SIA DC-09 (never their key). */
  dc09?: { account: string; encryption: 'none' | 'aes128' | 'aes192' | 'aes256'; encryptionRequired: boolean };
  createdAt: string;
  updatedAt: string;
}

/** A camera shown with an alarm: `linked` to the device, or found near it (metres). */
export interface AlarmCameraView {
  code: string;
  name: string;
  linked: boolean;
  distanceM?: number;
}

/** An alarm as operators see it: where, whose, which cameras, and who took it. Times ISO 8601. */
export interface AlarmView {
  id: string;
  incidentId: string;
  source: AlarmSource;
  device: { id: string; code: string; name: string; kind: AlarmDeviceKind; owner: { name: string; phone?: string }; address?: string };
  location: { lat: number; lng: number };
  positionSource: 'device' | 'app';
  accuracyM?: number;
  area: CameraArea;
  municipality: string;
  status: AlarmStatus;
  presses: number;
  firstAt: string;
  lastAt: string;
  /** Linked cameras first, then the nearest; empty: no camera nearby. */
  cameras: AlarmCameraView[];
  note?: string;
  announceLevel: number;
  acknowledgedBy?: ActorView;
  acknowledgedAt?: string;
  closedBy?: ActorView;
  closedAt?: string;
  disposition?: AlarmDisposition;
}

/** A supervised device whose heartbeats stopped (offline) or came back (online): not an alarm. */
export interface AlarmDeviceStatusEvent {
  deviceId: string;
  code: string;
  name: string;
  municipality: string;
  online: boolean;
  lastSeenAt?: string;
}

/** A TURN server as RTCPeerConnection takes it (RTCIceServer), with time-limited credentials. */
export interface IceServer {
  urls: string[];
  username: string;
  credential: string;
}

export interface TransportInfo {
  id: string;
  iceParameters: msc.IceParameters;
  iceCandidates: msc.IceCandidate[];
  dtlsParameters: msc.DtlsParameters;
}

export interface ConsumerInfo {
  id: string;
  producerId: string;
  kind: msc.MediaKind;
  rtpParameters: msc.RtpParameters;
  cameraId: string;
}

export interface TokenInfo {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

// ---- payload schemas (client -> server) -------------------------------------------------------

const id = z.string().min(1).max(128);
const tileSize = z.strictObject({
  width: z.number().int().min(1).max(16_384),
  height: z.number().int().min(1).max(16_384),
  fullscreen: z.boolean().optional(),
});
const cameraId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a camera id');
/** mediasoup validates the inner structure itself; here the shape is bounded and typed as an object. */
const opaqueObject = z.record(z.string(), z.unknown());

export const schemas = {
  getRouterRtpCapabilities: z.strictObject({}),
  listCameras: z.strictObject({
    area: z.enum(cameraAreas).optional(),
    municipality: z.string().min(1).max(100).optional(),
    health: z.enum(healthFilters).optional(),
    q: z.string().min(1).max(100).optional(),
    offset: z.number().int().min(0).max(1_000_000).optional(),
    limit: z.number().int().min(1).max(500).optional(),
  }),
  createTransport: z.strictObject({ tcpOnly: z.boolean().optional() }),
  connectTransport: z.strictObject({
    transportId: id,
    dtlsParameters: z.looseObject({
      role: z.enum(['auto', 'client', 'server']).optional(),
      fingerprints: z.array(z.strictObject({ algorithm: z.string().min(1).max(32), value: z.string().min(1).max(256) })).min(1).max(8),
    }),
  }),
  closeTransport: z.strictObject({ transportId: id }),
  consume: z.strictObject({
    transportId: id,
    cameraId,
    rtpCapabilities: z.looseObject({ codecs: z.array(opaqueObject).max(200).optional(), headerExtensions: z.array(opaqueObject).max(200).optional() }),
    /** The tile's size: the server gives the smallest stream that covers it (absent: the main stream). */
    tile: tileSize.optional(),
    /** An explicit stream (still held to the session's bandwidth cap). */
    stream: z.enum(streamNames).optional(),
    /**
     * The consumer this one will replace (a stream switch): its bit rate is not counted against the
     * cap, and the client closes it once the new consumer's first frame has arrived.
     */
    replaces: id.optional(),
    /** An admin's review of a pending citizen enrolment's camera (issue 26): audited as a review view. */
    review: z.literal(true).optional(),
  }),
  /**
   * A tile was resized, entered or left full screen: the server answers the stream it would give
   * now; when `switch` is true the client consumes that stream (with `replaces`) and closes the old
   * consumer after the new one's first frame.
   */
  tileResized: z.strictObject({ consumerId: id, tile: tileSize }),
  pauseConsumer: z.strictObject({ consumerId: id }),
  resumeConsumer: z.strictObject({ consumerId: id }),
  closeConsumer: z.strictObject({ consumerId: id }),
  refreshToken: z.strictObject({}),
  /** The console's report of a tile's time from asking for a camera to its first decoded frame. */
  reportFirstFrame: z.strictObject({ cameraId, ms: z.number().min(0).max(600_000) }),
  /**
   * ICE restart of the receive transport (RFC 8445 section 9): new ICE username fragment and
   * password from the server, which the client gives its own transport (mediasoup-client's
   * `restartIce`). Asked when the browser's ICE reports `disconnected` or `failed`, and after a resumed session.
   */
  restartIce: z.strictObject({ transportId: id }),
  /**
   * The page was hidden (background tab, screen off) or shown again: hidden, every consumer of the
   * session is paused on the server (no video flows) and stays paused; shown, the consumers the
   * client had resumed are resumed with a keyframe request.
   */
  pageVisibility: z.strictObject({ visible: z.boolean() }),
} as const;

export type RequestName = keyof typeof schemas;
export type RequestPayload<K extends RequestName> = z.infer<(typeof schemas)[K]>;

export interface ResponseMap {
  getRouterRtpCapabilities: { rtpCapabilities: msc.RtpCapabilities };
  listCameras: CameraPage;
  /** `iceServers`: TURN servers with credentials for this user (when the server has TURN configured). */
  createTransport: { transport: TransportInfo; iceServers?: IceServer[] };
  connectTransport: Record<string, never>;
  closeTransport: Record<string, never>;
  consume: { consumer: ConsumerInfo; stream: StreamChoice };
  tileResized: { stream: StreamChoice; switch: boolean };
  pauseConsumer: Record<string, never>;
  resumeConsumer: Record<string, never>;
  closeConsumer: Record<string, never>;
  refreshToken: TokenInfo;
  reportFirstFrame: Record<string, never>;
  restartIce: { iceParameters: TransportInfo['iceParameters'] };
  /** How many consumers the change paused or resumed. */
  pageVisibility: { consumers: number };
}

export type ClientToServerEvents = {
  [K in RequestName]: (payload: RequestPayload<K>, ack: AckCallback<ResponseMap[K]>) => void;
};

export interface ServerToClientEvents {
  /** First on every connection (before any other event): the resume token, and what was resumed. */
  session: (info: SessionInfo) => void;
  /** A camera this socket watches (or lists) changed state. */
  cameraState: (status: CameraStatusMessage) => void;
  /**
   * A consumer closed by itself. reason 'camera_restarting': consume again when the camera is live;
   * 'camera_withdrawn': the camera may no longer be watched (message says why);
   * 'camera_forbidden': this user may no longer watch it (rights or the camera's sharing changed);
   * 'bandwidth_cap': the session stayed over its cap after a streamAdvice (message says by how much);
   * 'replaced': a consumer replaced by a stream switch (consume with `replaces`) that the client did not close within BANDWIDTH_REPLACE_GRACE_MS (15 s).
   */
  consumerClosed: (event: { consumerId: string; cameraId: string; reason: string; message?: string }) => void;
  /** The user's rights changed (role or assignments): list the cameras again. */
  rightsChanged: (event: { role: string; areas: string[]; municipalities: string[] }) => void;
  /** The server is about to end this session (account disabled, token expired). */
  sessionEnded: (event: { reason: string }) => void;
  /** A camera's health (from the prober) changed. */
  cameraHealth: (event: { cameraId: string; health: CameraHealth }) => void;
  /** The receive transport closed by itself (its media worker died): create a new one and consume every tile again. */
  transportClosed: (event: { transportId: string; reason: string }) => void;
  /** Operators and admins: an incident was opened, changed or closed (refetch the incidents panel). */
  incidentsChanged: (event: { incidentId: string; change: string }) => void;
  /**
   * The catalog changed (a camera approved, suspended, revoked, renamed, moved, its sharing changed):
   * the cameras this user may see may have changed; list them again. Coalesced: at most one a second.
   */
  camerasChanged: () => void;
  /**
   * Investigators: one of their grants was created or changed (created, extended, revoked, expired,
   * ended, cameras): refetch their grants and camera list.
   */
  grantsChanged: (event: { grantId: string; incidentId: string; change: string }) => void;
  /**
   * Operators and admins whose scope covers it: an alarm to ring for, new, pressed again or
   * re-announced (the console rings, shows the banner, and may switch the wall).
   */
  alarmRaised: (alarm: AlarmView) => void;
  /** An alarm this console shows was acknowledged (by whom) or closed: update or remove the banner. */
  alarmChanged: (alarm: AlarmView) => void;
  /** On connection (and reconnection): the alarms still open or acknowledged that this user is shown. */
  alarmsOpen: (event: { alarms: AlarmView[]; offlineDevices: AlarmDeviceStatusEvent[] }) => void;
  /** Every sampling period (BANDWIDTH_SAMPLE_MS) while the session has consumers: measured bit rates per consumer. */
  bandwidth: (event: SessionBandwidth) => void;
  /**
   * The session is over its role's bandwidth cap: the server asks the client to switch this tile to
   * a lighter stream (consume with `stream` and `replaces`). Not done within two sampling periods,
   * the server closes the consumer (consumerClosed, reason 'bandwidth_cap').
   */
  streamAdvice: (event: { consumerId: string; cameraId: string; stream: StreamChoice }) => void;
  /** A supervised device went offline or came back. */
  alarmDeviceStatus: (event: AlarmDeviceStatusEvent) => void;
}

/**
 * Socket.IO `auth` of the handshake: the JWT travels here, never in a URL. `resume`: the resume
 * token of the last `session` event, to take back a session whose socket dropped (its transport,
 * consumers and views) within its grace period; refused (`resume_refused`) when the token belongs
 * to another user.
 */
export interface HandshakeAuth {
  token: string;
  resume?: string;
}

/** A resume token as the server issues it: 32 random bytes, base64url. */
export const RESUME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What a session that was taken back still holds. */
export interface ResumedSession {
  /** The receive transport, if the session had one (restart its ICE: the network may have changed). */
  transportId?: string;
  /** Consumers still open; any other consumer of the client closed meanwhile (consume its camera again). */
  consumers: Array<{ consumerId: string; cameraId: string; stream: StreamName }>;
  /** How long the session was without a socket (ms). */
  detachedMs: number;
}

/** Sent first on every connection: the resume token for the next one, and what was taken back. */
export interface SessionInfo {
  /** Present it in the next handshake's `auth.resume` (valid for this session only; replaced at each connection). */
  resumeToken: string;
  /** How long the server keeps this session's media after its socket drops (ms); 0: it does not. */
  resumeGraceMs: number;
  /** The session this connection took back, when `auth.resume` named one still held. */
  resumed?: ResumedSession;
  /** `auth.resume` named no session held any more (grace over, or closed): everything starts afresh. */
  resumeExpired?: true;
}

export const SOCKET_PATH = '/socket.io';
