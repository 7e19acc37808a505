import type { CameraStatus } from '../cameras/CameraStatus.ts';
import type { CameraLease } from '../cameras/CameraManager.ts';
import type { CameraStreamName } from '../cameras/CameraDirectory.ts';
import type { Role } from '../auth/Identity.ts';
import type { StreamOffer } from '../live/StreamPolicy.ts';
import type { Viewer } from '../auth/VisibilityPolicy.ts';
import type { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { AlarmDeviceStatusEvent, AlarmView, CameraHealth, CameraPage, RequestPayload } from './protocol.ts';

// What signalling needs from the rest of the server, one small port per concern, declared here so
// that signalling imports no mediasoup and no store. The composition root hands it one adapter.

/** Who may connect and watch: used at the handshake and before every consume. */
export interface ViewerAccess {
  /** The signed-in user's current rights (AppError unauthenticated when disabled or gone). */
  currentViewer(userId: string): Viewer & { id: string };
  /**
   * Throws forbidden / not_found unless `viewer` may watch the camera now; otherwise names the
   * incident that allows the view, when one does (the view's audit records carry it). `review`: an
   * admin asks to look at a pending citizen camera for its review; `review: true` in the answer says
   * the view is allowed only as such (audited as a review view).
   */
  authorize(viewer: Viewer & { id: string }, cameraId: string, options?: { review?: boolean }): Promise<{ incidentId?: string; review?: boolean }>;
}

/**
 * One viewer's media, as signalling drives it: mediasoup structures pass through as opaque objects
 * and are validated by mediasoup.
 */
export interface ViewerMediaPort
  extends Pick<TypedEmitter<{ consumerclosed: [{ consumerId: string; cameraId: string }]; transportclosed: [{ transportId: string }] }>, 'on'> {
  readonly rtpCapabilities: object;
  readonly usable: boolean;
  createTransport(options: { tcpOnly?: boolean }): Promise<{ id: string } & object>;
  connectTransport(dtlsParameters: object): Promise<void>;
  consume(feed: NonNullable<CameraLease['feed']>, rtpCapabilities: object): Promise<{ id: string; producerId: string; kind: string; rtpParameters: object; cameraId: string }>;
  /** Bytes sent so far by the consumer (RTP, its outbound stream), 0 once it has closed. */
  consumerBytes(consumerId: string): Promise<number>;
  pause(consumerId: string): Promise<void>;
  resume(consumerId: string): Promise<void>;
  /** New ICE username fragment and password for the receive transport (RFC 8445 section 9). */
  restartIce(): Promise<object>;
  closeConsumer(consumerId: string): void;
  close(): void;
}

/** The live pipeline: cameras started on demand, and media for viewers. */
export interface LiveMedia {
  readonly rtpCapabilities: object;
  openViewer(): ViewerMediaPort;
  /** Waits until the camera's stream is live (AppError camera_unavailable, camera_timeout, not_found, shutting_down). */
  acquire(cameraId: string, stream?: CameraStreamName): Promise<CameraLease>;
  /** What the camera's streams are now: a substream or not, their sizes, whether the low tier can be given. */
  streamOffer(cameraId: string): Promise<StreamOffer>;
  /** What a stream of the camera adds to a session (kbit/s): measured while it runs, else the last measure, else assumed. */
  estimateKbps(cameraId: string, stream: CameraStreamName): Promise<number>;
  /** A session measured a stream's rate (kbit/s): kept as the stream's last measure. */
  recordKbps(cameraId: string, stream: CameraStreamName, kbps: number): void;
}

/** Each role's bandwidth cap and how often sessions are measured. */
export interface BandwidthPolicy {
  /** The role's cap on one session (kbit/s); null: none. */
  capKbps(role: Role): number | null;
  /** Sampling period of each session's consumers (ms). */
  readonly sampleMs: number;
  /** A tile moved down for the cap is moved back up no sooner than this (ms). */
  readonly upgradeCooldownMs: number;
  /** A replaced consumer the client has not closed is closed this long after the switch (ms). */
  readonly replaceGraceMs: number;
}

/** The cameras a viewer may see, a page at a time, with their live state and health. */
export interface CameraListing {
  listCameras(query: RequestPayload<'listCameras'>, viewer: Viewer & { id: string }): Promise<CameraPage>;
}

/** Changes every connected console hears about. Each subscription returns its unsubscribe. */
export interface LiveEvents {
  onCameraState(listener: (status: CameraStatus) => void): () => void;
  onCameraHealth(listener: (event: { cameraId: string; health: CameraHealth }) => void): () => void;
}

/** The audit of who watched what. */
export interface ViewAudit {
  /** A user started watching a camera; returns the view's id for viewStopped. */
  viewStarted(view: { userId: string; cameraId: string; ip?: string; incidentId?: string; purpose?: 'review' }): string;
  /** `endedAt`: when the view really ended (ms since the epoch), when that was earlier than now (a session that was never resumed). */
  viewStopped(viewId: string, reason: string, forced?: boolean, endedAt?: number): void;
}

/** The alarms a console shows when it (re)connects. */
export interface AlarmFeed {
  /** Alarms not closed that are announced to the viewer. */
  activeFor(viewer: Viewer): AlarmView[];
  /** Supervised devices offline now whose place the viewer covers. */
  offlineFor(viewer: Viewer): AlarmDeviceStatusEvent[];
}
