import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { CameraFeed } from '../media/CameraFeed.ts';
import type { Ingest, IngestDescription } from '../../workers/Ingest.ts';
import { IngestError } from '../../workers/IngestError.ts';
import { parseStreamKey, type CameraSource } from './CameraDirectory.ts';
import type { PictureSize } from '../catalog/CameraRecord.ts';
import type { CameraState, CameraStatus } from './CameraStatus.ts';

/** Whether a new run's stream can go on into a feed made for `before` (same SSRC, payload type and profile). */
function sameStream(before: IngestDescription | undefined, after: IngestDescription): boolean {
  return (
    !!before &&
    before.ssrc === after.ssrc &&
    before.codec.payloadType === after.codec.payloadType &&
    before.codec.parameters['profile-level-id'] === after.codec.parameters['profile-level-id']
  );
}

export interface CameraTiming {
  startTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  idleCloseMs: number;
}

export interface CameraSessionDeps {
  createIngest(camera: CameraSource): Ingest;
  createFeed(cameraId: string, description: IngestDescription): Promise<CameraFeed>;
  timing: CameraTiming;
  logger: Logger;
}

export type CameraSessionEvents = {
  state: [CameraStatus];
  /** The stream's picture size, from its SPS (the SDP's sprop-parameter-sets, or the first keyframe's). */
  size: [PictureSize];
};

interface Waiter {
  resolve(feed: CameraFeed): void;
  reject(error: AppError): void;
}

/** A run that stayed live this long resets the backoff. */
const STABLE_RUN_MS = 30_000;

/**
 * One camera: idle -> starting -> live -> (backoff -> starting)* -> closing -> idle. The first
 * viewer starts the ingest, the last one leaving starts the idle timer; every waiting viewer gets
 * an answer on every path (live, failed with the reason, timed out, shutting down).
 */
export class CameraSession extends TypedEmitter<CameraSessionEvents> {
  readonly #ingest: Ingest;
  readonly #deps: CameraSessionDeps;
  #status: CameraStatus;
  #viewers = 0;
  #waiters: Waiter[] = [];
  /** Bumped whenever a run is started or abandoned; stale async steps compare against it. */
  #generation = 0;
  #feed: CameraFeed | undefined;
  /** What the feed was created for: a new run reuses the feed only when the camera sends the same. */
  #feedDescription: IngestDescription | undefined;
  #teardown: Promise<void> = Promise.resolve();
  #attempts = 0;
  #restarts = 0;
  #liveSince = 0;
  #startTimer: NodeJS.Timeout | undefined;
  #backoffTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    readonly camera: CameraSource,
    deps: CameraSessionDeps,
  ) {
    super();
    this.#deps = deps;
    const { stream } = parseStreamKey(camera.id);
    this.#status = { cameraId: camera.id, ...(stream !== 'main' && { stream }), state: 'idle', since: Date.now(), viewers: 0, restarts: 0 };
    this.#ingest = deps.createIngest(camera);
    this.#ingest.on('error', (error) => this.#fail(this.#generation, error));
    this.#ingest.on('progress', (progress) => {
      if (progress.frames > (this.#status.progress?.frames ?? -1)) this.#status.lastFrameAt = Date.now();
      this.#status.progress = progress;
      if (progress.width && progress.height) this.emit('size', { width: progress.width, height: progress.height });
    });
  }

  get status(): Readonly<CameraStatus> {
    return { ...this.#status };
  }

  get state(): CameraState {
    return this.#status.state;
  }

  get feed(): CameraFeed | undefined {
    return this.#feed;
  }

  get viewers(): number {
    return this.#viewers;
  }

  get ingestPid(): number | undefined {
    return this.#ingest.pid;
  }

  /** Keeps the camera running even without viewers. */
  startAlwaysOn(): void {
    if (this.state === 'idle') void this.#startRun();
  }

  /** Counts a viewer in; resolves with the live feed. On failure the viewer is counted out again. */
  acquire(): Promise<CameraFeed> {
    if (this.#closed) return Promise.reject(new AppError('shutting_down', 'the server is shutting down'));
    this.#viewers++;
    this.#status.viewers = this.#viewers;
    this.#clearIdleTimer();
    this.#announceViewers();
    if (this.state === 'live' && this.#feed) return Promise.resolve(this.#feed);
    const answer = new Promise<CameraFeed>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.state === 'idle' || this.state === 'closing') void this.#startRun();
    return answer;
  }

  release(): void {
    if (this.#viewers === 0) return;
    this.#viewers--;
    this.#status.viewers = this.#viewers;
    this.#announceViewers();
    if (this.#viewers > 0 || this.camera.alwaysOn || this.#closed) return;
    switch (this.state) {
      case 'live':
        this.#scheduleIdleClose();
        break;
      case 'starting':
      case 'backoff':
        // Nobody wants it any more: abandon the attempt.
        void this.#stopRun('idle');
        break;
      default:
        break;
    }
  }

  /** Ends the session; viewers still waiting for it are rejected with `reason` (default shutting_down). */
  async close(reason: AppError = new AppError('shutting_down', 'the server is shutting down')): Promise<void> {
    if (this.#closed) return this.#teardown;
    this.#closed = true;
    this.#generation++;
    this.#clearTimers();
    this.#answerWaiters(reason);
    this.#viewers = 0;
    this.#beginTeardown();
    await this.#teardown;
    this.#setState('closed');
    this.removeAllListeners();
  }

  async #startRun(): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimers();
    this.#setState('starting', { keepReason: true });
    await this.#teardown;
    if (generation !== this.#generation) return;
    this.#startTimer = setTimeout(() => {
      this.#fail(generation, new IngestError('timeout', `no video within ${this.#deps.timing.startTimeoutMs} ms`));
    }, this.#deps.timing.startTimeoutMs);
    try {
      const description = await this.#ingest.open();
      if (generation !== this.#generation) return;
      if (description.source.width && description.source.height) this.emit('size', { width: description.source.width, height: description.source.height });
      let feed = this.#feed;
      const kept = feed !== undefined && !feed.closed && sameStream(this.#feedDescription, description);
      if (feed && !kept) {
        // The camera now sends something else (another profile): its viewers re-subscribe to a new feed.
        this.#feed = undefined;
        feed.close();
        feed = undefined;
      }
      if (!feed) {
        // A copy: mediasoup normalises the parameters it is given in place (profile-level-id).
        const described = structuredClone(description);
        feed = await this.#deps.createFeed(this.camera.id, description);
        if (generation !== this.#generation) {
          feed.close();
          return;
        }
        const created = feed;
        this.#feed = created;
        // A viewer's keyframe request reaches a producer without feedback (ffmpeg copying the camera's
        // H.264) through the ingest instead; a transcoder makes its own keyframes every second.
        if (!description.keyframeRequests && !description.transcodeReason) created.keyframeRequester = () => this.#ingest.requestKeyframe?.();
        this.#feedDescription = described;
        created.onClose(() => {
          if (this.#feed !== created) return;
          this.#feed = undefined;
          this.#fail(this.#generation, new IngestError('exited', 'the media worker hosting the camera closed'));
        });
      }
      this.#status.transcodeReason = description.transcodeReason;
      this.#status.engine = description.engine;
      let onFlowing: (() => void) | undefined;
      const flowing = kept ? new Promise<void>((resolve) => this.#ingest.once('flowing', (onFlowing = resolve))) : feed.firstRtp;
      try {
        this.#ingest.start(feed.rtpTarget);
        await flowing;
      } finally {
        if (onFlowing) this.#ingest.off('flowing', onFlowing);
      }
      if (generation !== this.#generation) return;
      clearTimeout(this.#startTimer);
      this.#startTimer = undefined;
      this.#liveSince = Date.now();
      this.#setState('live');
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const waiter of waiters) waiter.resolve(feed);
      if (this.#viewers === 0 && !this.camera.alwaysOn) this.#scheduleIdleClose();
    } catch (error) {
      this.#fail(generation, error instanceof IngestError ? error : new IngestError('exited', (error as Error).message));
    }
  }

  #fail(generation: number, error: IngestError): void {
    if (generation !== this.#generation || this.#closed) return;
    if (this.state !== 'starting' && this.state !== 'live') return;
    this.#generation++;
    this.#clearTimers();
    // A relayed camera's feed outlives the reconnect: its viewers keep their consumers.
    const keepFeed = (this.#ingest.continuesAcrossRuns ?? false) && (this.#viewers > 0 || this.camera.alwaysOn) && !!this.#feed && !this.#feed.closed;
    this.#beginTeardown(keepFeed);
    this.#deps.logger.warn({ camera: this.camera.id, reason: error.reason, err: error.message, keptFeed: keepFeed }, 'camera ingest failed');
    const appError = new AppError(error.reason === 'timeout' ? 'camera_timeout' : 'camera_unavailable', error.message, { reason: error.reason });
    this.#viewers -= this.#waiters.length;
    this.#status.viewers = this.#viewers;
    this.#answerWaiters(appError);
    if (this.#liveSince && Date.now() - this.#liveSince > STABLE_RUN_MS) this.#attempts = 0;
    this.#liveSince = 0;
    const failure = { reason: error.reason, message: error.message };
    if (this.#viewers > 0 || this.camera.alwaysOn) {
      const delay = this.#backoffDelay(++this.#attempts);
      this.#restarts++;
      this.#setState('backoff', { ...failure, retryInMs: delay });
      this.#backoffTimer = setTimeout(() => void this.#startRun(), delay);
    } else {
      this.#setState('idle', failure);
    }
  }

  #backoffDelay(attempt: number): number {
    const { backoffInitialMs, backoffMaxMs } = this.#deps.timing;
    const base = Math.min(backoffMaxMs, backoffInitialMs * 2 ** (attempt - 1));
    return Math.round(Math.min(backoffMaxMs, base * (0.8 + Math.random() * 0.4)));
  }

  #scheduleIdleClose(): void {
    this.#clearIdleTimer();
    const close = (): void => void this.#stopRun('idle');
    if (this.#deps.timing.idleCloseMs === 0) close();
    else this.#idleTimer = setTimeout(close, this.#deps.timing.idleCloseMs);
  }

  async #stopRun(finalState: 'idle'): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimers();
    this.#setState('closing');
    this.#beginTeardown();
    await this.#teardown;
    if (generation === this.#generation) this.#setState(finalState);
  }

  /**
   * Stops the ingest and, unless `keepFeed`, closes the feed now (its consumers close with it) and
   * releases what the ingest keeps across runs; #teardown settles when done.
   */
  #beginTeardown(keepFeed = false): void {
    if (!keepFeed) {
      const feed = this.#feed;
      this.#feed = undefined;
      this.#feedDescription = undefined;
      feed?.close();
    }
    const previous = this.#teardown;
    this.#teardown = previous.then(() => this.#ingest.stop()).then(() => (keepFeed ? undefined : this.#ingest.close?.())).catch((error: unknown) => {
      this.#deps.logger.error({ camera: this.camera.id, err: (error as Error).message }, 'stopping ingest failed');
    });
  }

  #answerWaiters(error: AppError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #setState(state: CameraState, extra: { keepReason?: boolean; reason?: IngestError['reason']; message?: string; retryInMs?: number } = {}): void {
    const { keepReason, ...failure } = extra;
    const previous = this.#status;
    const { stream } = parseStreamKey(this.camera.id);
    this.#status = {
      cameraId: this.camera.id,
      ...(stream !== 'main' && { stream }),
      state,
      since: Date.now(),
      viewers: this.#viewers,
      restarts: this.#restarts,
      ...(previous.progress && state === 'live' && { progress: previous.progress }),
      ...(previous.lastFrameAt && { lastFrameAt: previous.lastFrameAt }),
      ...(keepReason && previous.reason && { reason: previous.reason, message: previous.message }),
      ...failure,
      ...(state === 'live' && previous.transcodeReason && { transcodeReason: previous.transcodeReason }),
      ...(state === 'live' && previous.engine && { engine: previous.engine }),
    };
    if (previous.state === state && !failure.reason) return;
    this.emit('state', this.status);
  }

  /** A viewer joined or left a running camera: its status (viewer count) is news for the consoles. */
  #announceViewers(): void {
    if (this.state === 'live' || this.state === 'backoff') this.emit('state', this.status);
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #clearTimers(): void {
    this.#clearIdleTimer();
    if (this.#startTimer) clearTimeout(this.#startTimer);
    if (this.#backoffTimer) clearTimeout(this.#backoffTimer);
    this.#startTimer = undefined;
    this.#backoffTimer = undefined;
  }
}
