import { AppError } from '../errors/AppError.ts';
import type { CameraCatalog } from '../catalog/CameraCatalog.ts';
import type { CameraRecord, PictureSize } from '../catalog/CameraRecord.ts';
import { streamKey, type CameraStreamName } from '../cameras/CameraDirectory.ts';
import type { StreamOffer } from './StreamPolicy.ts';
import { VisibilityPolicy, type Viewer } from '../auth/VisibilityPolicy.ts';
import type { UserService } from '../users/UserService.ts';
import type { ViewRecorder } from '../audit/ViewRecorder.ts';
import type { MediaWorkerPool } from '../media/MediaWorkerPool.ts';
import type { CameraLease, CameraManager } from '../cameras/CameraManager.ts';
import type { CameraStatus } from '../cameras/CameraStatus.ts';
import type { CameraProber } from '../health/CameraProber.ts';
import type { IncidentService } from '../incidents/IncidentService.ts';
import type { CameraListing, LiveEvents, LiveMedia, ViewAudit, ViewerAccess, ViewerMediaPort } from '../signalling/ports.ts';
import type { CameraHealth, CameraPage, CameraSummary, RequestPayload } from '../signalling/protocol.ts';

/** What the stream choice needs to know of bandwidth and the low tier (config bandwidth.*, lowTier.*). */
export interface StreamSettings {
  assumedMainKbps: number;
  assumedSubKbps: number;
  lowTier: { width: number; height: number; kbps: number };
  /** Whether a low-tier transcode can start now (a slot is free and the low tier is enabled). */
  lowTierFree(): boolean;
}

export interface LiveViewingOptions {
  streams: StreamSettings;
  catalog: CameraCatalog;
  users: UserService;
  views: ViewRecorder;
  media: MediaWorkerPool;
  cameras: CameraManager;
  prober: CameraProber;
  incidents: IncidentService;
}

/** Page size when the console asks for the camera list without one. */
const DEFAULT_PAGE = 500;

/**
 * What signalling needs from the rest of the server, in one adapter: access decided by
 * VisibilityPolicy on the catalog's current record, media from the pool and the camera manager,
 * the camera list with live state and health, the events consoles hear, and the audit of views.
 */
export class LiveViewing implements ViewerAccess, LiveMedia, CameraListing, LiveEvents, ViewAudit {
  readonly #catalog: CameraCatalog;
  readonly #users: UserService;
  readonly #views: ViewRecorder;
  readonly #media: MediaWorkerPool;
  readonly #cameras: CameraManager;
  readonly #prober: CameraProber;
  readonly #incidents: IncidentService;
  readonly #streams: StreamSettings;
  /** The last rate measured on a stream by any session (kbit/s), by session key. */
  readonly #measuredKbps = new Map<string, number>();

  constructor(options: LiveViewingOptions) {
    this.#streams = options.streams;
    this.#catalog = options.catalog;
    this.#users = options.users;
    this.#views = options.views;
    this.#media = options.media;
    this.#cameras = options.cameras;
    this.#prober = options.prober;
    this.#incidents = options.incidents;
  }

  currentViewer(userId: string): Viewer & { id: string } {
    return this.#users.current(userId);
  }

  async authorize(viewer: Viewer & { id: string }, cameraId: string, options: { review?: boolean } = {}): Promise<{ incidentId?: string; review?: boolean }> {
    const camera = await this.#catalog.repository.findByCode(cameraId);
    if (!camera || camera.retiredAt) throw new AppError('not_found', `no camera ${cameraId}`);
    // Admins may look at a citizen camera waiting for review, to judge what it shows (issue 26).
    if (options.review && camera.status === 'pending' && camera.area === 'citizen' && VisibilityPolicy.canAdminister(viewer)) return { review: true };
    const allowance = VisibilityPolicy.allowance(viewer, camera, this.#incidents.accessFor(viewer.id));
    if (!allowance) {
      const ended = camera.status === 'approved' && viewer.role === 'investigator' ? await this.#incidents.endedGrantReason(viewer.id, camera.code) : undefined;
      const why = camera.status !== 'approved' ? `camera ${camera.code} is ${camera.status}` : (ended ?? `you may not watch camera ${camera.code}`);
      throw new AppError('forbidden', why);
    }
    return 'incidentId' in allowance ? { incidentId: allowance.incidentId } : {};
  }

  get rtpCapabilities(): object {
    return this.#media.rtpCapabilities;
  }

  openViewer(): ViewerMediaPort {
    return this.#media.createViewerMedia();
  }

  acquire(cameraId: string, stream: CameraStreamName = 'main'): Promise<CameraLease> {
    return this.#cameras.acquire(cameraId, stream);
  }

  async streamOffer(cameraId: string): Promise<StreamOffer> {
    const streams = await this.#cameras.streams(cameraId);
    const { width, height } = this.#streams.lowTier;
    return {
      hasSub: streams.hasSub,
      ...(streams.main && { main: streams.main }),
      ...(streams.sub && { sub: streams.sub }),
      lowAvailable: streams.lowRunning || this.#streams.lowTierFree(),
      lowSize: lowTierSize(streams.main, { width, height }),
    };
  }

  async estimateKbps(cameraId: string, stream: CameraStreamName): Promise<number> {
    // While the stream runs, what its producer receives now: the rate a new viewer will get.
    const feed = this.#cameras.session(cameraId, stream)?.feed;
    if (feed && !feed.closed) {
      const bitrate = await feed.inBitrate();
      if (bitrate > 0) return bitrate / 1000;
    }
    const measured = this.#measuredKbps.get(streamKey(cameraId, stream));
    if (measured !== undefined) return measured;
    if (stream === 'low') return this.#streams.lowTier.kbps;
    return stream === 'sub' ? this.#streams.assumedSubKbps : this.#streams.assumedMainKbps;
  }

  recordKbps(cameraId: string, stream: CameraStreamName, kbps: number): void {
    if (kbps > 0) this.#measuredKbps.set(streamKey(cameraId, stream), kbps);
  }

  async listCameras(query: RequestPayload<'listCameras'>, viewer: Viewer & { id: string }): Promise<CameraPage> {
    const scope = VisibilityPolicy.scope(viewer, this.#incidents.accessFor(viewer.id));
    const page = await this.#catalog.fleetPage({ ...query, offset: query.offset ?? 0, limit: query.limit ?? DEFAULT_PAGE }, scope);
    return {
      cameras: page.items.map(
        (camera): CameraSummary => ({
          id: camera.code,
          name: camera.name,
          area: camera.area,
          municipality: camera.municipality,
          health: healthOf(camera),
          status: this.#cameras.status(camera.code) ?? { cameraId: camera.code, state: 'idle', since: Date.now(), viewers: 0 },
        }),
      ),
      total: page.total,
      healthCounts: page.healthCounts,
      municipalities: page.municipalities,
    };
  }

  onCameraState(listener: (status: CameraStatus) => void): () => void {
    // Consoles follow cameras (their main streams); a substream's or low tier's state is its own.
    const relay = (status: CameraStatus): void => {
      if (!status.stream) listener(status);
    };
    this.#cameras.on('state', relay);
    return () => this.#cameras.off('state', relay);
  }

  onCameraHealth(listener: (event: { cameraId: string; health: CameraHealth }) => void): () => void {
    const relay = ({ camera }: { camera: CameraRecord }): void => listener({ cameraId: camera.code, health: healthOf(camera) });
    this.#prober.on('health', relay);
    return () => this.#prober.off('health', relay);
  }

  viewStarted(view: { userId: string; cameraId: string; ip?: string; incidentId?: string; purpose?: 'review' }): string {
    return this.#views.start({ ...view, username: this.#users.get(view.userId).username });
  }

  viewStopped(viewId: string, reason: string, forced?: boolean, endedAt?: number): void {
    this.#views.stop(viewId, reason, forced, endedAt);
  }
}

/** The low tier's picture: the main stream fitted into the box (even sizes), or the box while unknown. */
function lowTierSize(main: PictureSize | undefined, box: PictureSize): PictureSize {
  if (!main) return box;
  const scale = Math.min(1, box.width / main.width, box.height / main.height);
  const even = (n: number): number => Math.max(2, 2 * Math.floor((n * scale) / 2));
  return { width: even(main.width), height: even(main.height) };
}

/** What the console shows of a camera's health (epoch ms; 'unknown' until probed). */
function healthOf(camera: CameraRecord): CameraHealth {
  if (!camera.health) return { status: 'unknown' };
  return {
    status: camera.health.status,
    since: camera.health.since.getTime(),
    ...(camera.health.lastSeenAt && { lastSeenAt: camera.health.lastSeenAt.getTime() }),
    ...(camera.health.message && { message: camera.health.message }),
    ...(camera.health.stream && { stream: camera.health.stream }),
  };
}
