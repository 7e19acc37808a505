import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { CameraFeed } from '../media/CameraFeed.ts';
import type { CameraDirectory } from './CameraDirectory.ts';
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
  state: [CameraStatus];
};

/** Camera sessions by id: on-demand start on the first viewer, idle close after the last one. */
export class CameraManager extends TypedEmitter<CameraManagerEvents> {
  readonly #sessions = new Map<string, CameraSession>();
  #closed = false;

  constructor(
    readonly directory: CameraDirectory,
    private readonly deps: CameraSessionDeps,
  ) {
    super();
  }

  /** Starts the always-on cameras. */
  async start(): Promise<void> {
    for (const camera of await this.directory.list()) {
      if (camera.alwaysOn) (await this.#session(camera.id)).startAlwaysOn();
    }
  }

  /** Waits until the camera is live; rejects with not_found, camera_unavailable, camera_timeout or shutting_down. */
  async acquire(cameraId: string): Promise<CameraLease> {
    const session = await this.#session(cameraId);
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

  status(cameraId: string): CameraStatus | undefined {
    return this.#sessions.get(cameraId)?.status;
  }

  statuses(): CameraStatus[] {
    return [...this.#sessions.values()].map((session) => session.status);
  }

  /** The session, if one exists (tests and metrics read ingest pids and viewer counts through it). */
  session(cameraId: string): CameraSession | undefined {
    return this.#sessions.get(cameraId);
  }

  /**
   * Ends a camera's session now (its record changed in the catalog): viewers are told why first,
   * then the ingest stops and every consumer closes. `final`: it may no longer be watched at all.
   */
  async withdraw(cameraId: string, message: string, final: boolean): Promise<void> {
    const session = this.#sessions.get(cameraId);
    if (!session) return;
    this.#sessions.delete(cameraId);
    this.emit('state', { ...session.status, state: 'closed', since: Date.now(), reason: final ? 'withdrawn' : 'changed', message });
    // Viewers still waiting learn why: forbidden when it may not be watched any more, unavailable
    // (worth asking again) when only its record changed.
    await session.close(final ? new AppError('forbidden', `camera ${cameraId} was withdrawn: ${message}`) : new AppError('camera_unavailable', `camera ${cameraId} is restarting: ${message}`));
    if (final || this.#closed || this.#sessions.has(cameraId)) return;
    // An always-on camera whose record changed (a new URL) starts again at once, with no viewer.
    const camera = await this.directory.get(cameraId);
    if (camera?.alwaysOn && !this.#closed && !this.#sessions.has(cameraId)) (await this.#session(cameraId)).startAlwaysOn();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions.values()].map((session) => session.close()));
    this.#sessions.clear();
  }

  async #session(cameraId: string): Promise<CameraSession> {
    if (this.#closed) throw new AppError('shutting_down', 'the server is shutting down');
    const existing = this.#sessions.get(cameraId);
    if (existing) return existing;
    const camera = await this.directory.get(cameraId);
    if (!camera) throw new AppError('not_found', `no camera ${cameraId}`);
    if (this.#closed) throw new AppError('shutting_down', 'the server is shutting down');
    // Another caller may have created it while the directory answered.
    const raced = this.#sessions.get(cameraId);
    if (raced) return raced;
    const session = new CameraSession(camera, this.deps);
    let logged: string | undefined;
    session.on('state', (status) => {
      // A withdrawn session's own 'closed' follows its announcement: say it once.
      if (this.#sessions.get(cameraId) === session || status.state !== 'closed') this.emit('state', status);
      // Viewer-count updates repeat the state: log transitions only.
      if (status.state !== logged || status.reason) this.deps.logger.info({ camera: cameraId, state: status.state, reason: status.reason }, 'camera state');
      logged = status.state;
    });
    this.#sessions.set(cameraId, session);
    return session;
  }
}
