import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { CameraFeed } from '../media/CameraFeed.ts';
import type { Ingest } from '../../workers/Ingest.ts';
import type { PictureSize } from '../catalog/CameraRecord.ts';
import { parseStreamKey, streamKey, type CameraDirectory, type CameraSource, type CameraStreamName } from './CameraDirectory.ts';
import { CameraSession, type CameraSessionDeps } from './CameraSession.ts';
import type { CameraStatus } from './CameraStatus.ts';

/** A viewer's hold on a live camera; release() is idempotent. */
export interface CameraLease {
  readonly cameraId: string;
  /** The current feed (it changes when the camera restarts; undefined while it is down). */
  readonly feed: CameraFeed | undefined;
  release(): void;
}

export type CameraManagerEvents = {
  /** A session's state changed: a main stream's status carries the camera's code, another stream's its session key. */
  state: [CameraStatus];
};

/** What the camera manager needs besides the sessions' own dependencies. */
export interface CameraManagerDeps extends CameraSessionDeps {
  /**
   * The ingest of a camera's low tier: a transcode of its main stream, which it holds through
   * `acquireMain` while it runs (never a second RTSP session). Absent: no low tier.
   */
  createLowTier?(cameraId: string, acquireMain: () => Promise<CameraLease>): Ingest;
  /** A stream's resolution was learned or changed (the catalog stores it). */
  onStreamSize?(cameraId: string, stream: 'main' | 'sub', size: PictureSize): void;
}

/** What a camera's streams are, for choosing one: whether it has a substream, and the sizes known (px). */
export interface CameraStreams {
  hasSub: boolean;
  main?: PictureSize;
  sub?: PictureSize;
  /** Whether the low tier is running now (joining it costs no new transcode). */
  lowRunning: boolean;
}

/** A low tier with no viewer stops this soon at most: it holds one of the node's few transcode slots. */
const LOW_TIER_IDLE_CLOSE_MS = 5000;

/**
 * Camera sessions, one per stream (a camera's main stream, its substream, its low tier): on-demand
 * start on the first viewer, idle close after the last one.
 */
export class CameraManager extends TypedEmitter<CameraManagerEvents> {
  readonly #sessions = new Map<string, CameraSession>();
  /** Resolutions learned from the streams' SPS, by session key. */
  readonly #sizes = new Map<string, PictureSize>();
  #closed = false;

  constructor(
    readonly directory: CameraDirectory,
    private readonly deps: CameraManagerDeps,
  ) {
    super();
  }

  /** The camera's streams and their known sizes (learned this run, else stored in the catalog); not_found when it does not exist. */
  async streams(cameraId: string): Promise<CameraStreams> {
    const camera = await this.directory.get(cameraId);
    if (!camera) throw new AppError('not_found', `no camera ${cameraId}`);
    const main = this.#sizes.get(cameraId) ?? camera.streamSizes?.main;
    const sub = this.#sizes.get(streamKey(cameraId, 'sub')) ?? camera.streamSizes?.sub;
    const low = this.#sessions.get(streamKey(cameraId, 'low'));
    return {
      hasSub: camera.substream !== undefined,
      ...(main && { main }),
      ...(sub && { sub }),
      lowRunning: low !== undefined && (low.state === 'live' || low.state === 'starting'),
    };
  }

  /** Starts the always-on cameras. */
  async start(): Promise<void> {
    for (const camera of await this.directory.list()) {
      if (!camera.alwaysOn) continue;
      // One camera the directory refuses now (an enrolled camera's address no longer allowed) does not stop the others.
      try {
        (await this.#session(camera.id)).startAlwaysOn();
      } catch (error) {
        this.deps.logger.warn({ camera: camera.id, err: (error as Error).message }, 'always-on camera not started');
      }
    }
  }

  /**
   * Waits until the camera's stream is live; rejects with not_found (no such camera, or no
   * substream), camera_unavailable, camera_timeout or shutting_down.
   */
  async acquire(cameraId: string, stream: CameraStreamName = 'main'): Promise<CameraLease> {
    const session = await this.#session(streamKey(cameraId, stream));
    await session.acquire();
    let released = false;
    return {
      cameraId,
      get feed() {
        return released ? undefined : session.feed;
      },
      release: () => {
        if (released) return;
        released = true;
        session.release();
      },
    };
  }

  status(cameraId: string, stream: CameraStreamName = 'main'): CameraStatus | undefined {
    return this.#sessions.get(streamKey(cameraId, stream))?.status;
  }

  statuses(): CameraStatus[] {
    return [...this.#sessions.values()].map((session) => session.status);
  }

  /** The session, if one exists (tests and metrics read ingest pids and viewer counts through it). */
  session(cameraId: string, stream: CameraStreamName = 'main'): CameraSession | undefined {
    return this.#sessions.get(streamKey(cameraId, stream));
  }

  /**
   * Ends a camera's session now (its record changed in the catalog): viewers are told why first,
   * then the ingest stops and every consumer closes. `final`: it may no longer be watched at all.
   */
  async withdraw(cameraId: string, message: string, final: boolean): Promise<void> {
    // Viewers still waiting learn why: forbidden when it may not be watched any more, unavailable
    // (worth asking again) when only its record changed.
    const why = (): AppError => (final ? new AppError('forbidden', `camera ${cameraId} was withdrawn: ${message}`) : new AppError('camera_unavailable', `camera ${cameraId} is restarting: ${message}`));
    // Its other streams go too: a substream whose URL changed, the low tier of a withdrawn camera.
    const others = (['low', 'sub'] as const).flatMap((stream) => {
      const key = streamKey(cameraId, stream);
      const other = this.#sessions.get(key);
      if (!other) return [];
      this.#sessions.delete(key);
      this.#sizes.delete(key);
      return [other.close(why())];
    });
    const session = this.#sessions.get(cameraId);
    if (!session) {
      // Only its substream (or low tier) ran: its viewers are told all the same, as for the main stream.
      if (others.length > 0) this.emit('state', { cameraId, state: 'closed', since: Date.now(), viewers: 0, restarts: 0, reason: final ? 'withdrawn' : 'changed', message });
      await Promise.all(others);
      return;
    }
    this.#sessions.delete(cameraId);
    this.emit('state', { ...session.status, state: 'closed', since: Date.now(), reason: final ? 'withdrawn' : 'changed', message });
    await Promise.all([...others, session.close(why())]);
    if (final || this.#closed || this.#sessions.has(cameraId)) return;
    // An always-on camera whose record changed (a new URL) starts again at once, with no viewer;
    // unless the directory refuses it now (an enrolled camera's address no longer allowed): said in the log.
    try {
      const camera = await this.directory.get(cameraId);
      if (camera?.alwaysOn && !this.#closed && !this.#sessions.has(cameraId)) (await this.#session(cameraId)).startAlwaysOn();
    } catch (error) {
      this.deps.logger.warn({ camera: cameraId, err: (error as Error).message }, 'always-on camera not started again');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
    this.#sessions.clear();
  }

  async #session(key: string): Promise<CameraSession> {
    if (this.#closed) throw new AppError('shutting_down', 'the server is shutting down');
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    const { cameraId, stream } = parseStreamKey(key);
    const camera = await this.directory.get(cameraId);
    if (!camera) throw new AppError('not_found', `no camera ${cameraId}`);
    if (this.#closed) throw new AppError('shutting_down', 'the server is shutting down');
    // Another caller may have created it while the directory answered.
    const raced = this.#sessions.get(key);
    if (raced) return raced;
    const session = this.#newSession(key, camera, stream);
    session.on('size', (size) => {
      const known = this.#sizes.get(key);
      if (known && known.width === size.width && known.height === size.height) return;
      this.#sizes.set(key, size);
      if (stream !== 'low') this.deps.onStreamSize?.(cameraId, stream, size);
    });
    let logged: string | undefined;
    session.on('state', (status) => {
      // A withdrawn session's own 'closed' follows its announcement: say it once.
      if (this.#sessions.get(key) === session || status.state !== 'closed') this.emit('state', status);
      // Viewer-count updates repeat the state: log transitions only.
      if (status.state !== logged || status.reason) this.deps.logger.info({ camera: cameraId, ...(stream !== 'main' && { stream }), state: status.state, reason: status.reason }, 'camera state');
      logged = status.state;
    });
    this.#sessions.set(key, session);
    return session;
  }

  /** A stream's session: the substream pulls its own URL; the low tier transcodes the main stream's feed. */
  #newSession(key: string, camera: CameraSource, stream: CameraStreamName): CameraSession {
    if (stream === 'main') return new CameraSession(camera, this.deps);
    // A stream's session never stays on by itself: the main stream is the one kept always on.
    const base = { ...camera, id: key, alwaysOn: false };
    if (stream === 'sub') {
      if (!camera.substream) throw new AppError('not_found', `camera ${camera.id} has no substream`);
      const { url, username, password, pinned } = camera.substream;
      // The main stream's pin is for the main URL's host: the substream has its own (or, unpinned, none).
      if (camera.pinned && !pinned) throw new AppError('camera_unavailable', "the substream's address is not allowed", { reason: 'address_refused' });
      const { username: _u, password: _p, pinned: _pin, ...rest } = base;
      return new CameraSession({ ...rest, url, ...(username !== undefined && { username }), ...(password !== undefined && { password }), ...(pinned && { pinned }) }, this.deps);
    }
    const createLowTier = this.deps.createLowTier;
    if (!createLowTier) throw new AppError('not_found', 'the low tier is disabled on this server');
    return new CameraSession(base, {
      ...this.deps,
      timing: { ...this.deps.timing, idleCloseMs: Math.min(this.deps.timing.idleCloseMs, LOW_TIER_IDLE_CLOSE_MS) },
      createIngest: () => createLowTier(camera.id, () => this.acquire(camera.id, 'main')),
    });
  }
}
