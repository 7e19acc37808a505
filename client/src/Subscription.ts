/**
 * One tile watching one camera: consume, play, resume, and keep it playing without a reload.
 *
 *   consume -> attach track -> resumeConsumer -> (first frame) live
 *   consumerClosed            -> reconnecting "camera restarting", re-consume when the camera is live
 *   consumerClosed withdrawn/forbidden, or consume refused 'forbidden'
 *                             -> forbidden with the server's message; tried again only when a hint says
 *                                it may work (camera live, rights changed, reconnection) or every 60 s
 *   consume failed            -> reconnecting with the reason, retry with backoff (1 s -> 10 s)
 *   socket lost               -> reconnecting "connection lost", re-consume after the reconnection
 *   no frame for too long     -> reconnecting "no video", re-consume
 */
import type { types as msc } from 'mediasoup-client';
import type { CameraStatusMessage } from '../../server/signalling/protocol.ts';
import { Backoff } from './Backoff.ts';
import type { MediaReceiver } from './MediaReceiver.ts';
import type { Tile } from './Tile.ts';

/** A consumer whose track has shown no frame after this long is re-subscribed (covers a GOP of several seconds). */
const FIRST_FRAME_TIMEOUT_MS = 15000;
/** A tile that may not watch its camera tries again this often at most, unless a hint comes first. */
export const FORBIDDEN_RETRY_MS = 60_000;
/** Hints (camera live) do not retry a forbidden tile more often than this. */
const FORBIDDEN_HINT_MIN_MS = 5000;
/** consumerClosed reasons meaning "you may not watch this camera now", not "wait, it comes back". */
const FORBIDDEN_REASONS = new Set(['camera_withdrawn', 'camera_forbidden']);

export interface SubscriptionContext {
  receiver: MediaReceiver;
  /** Connected to the server, with a receive transport. */
  online: () => boolean;
}

export class Subscription {
  #consumer: msc.Consumer | undefined;
  /** Bumped whenever an in-flight consume must be forgotten (stop, disconnect, restart). */
  #generation = 0;
  #consuming = false;
  #closed = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #firstFrameTimer: ReturnType<typeof setTimeout> | undefined;
  /** The camera may not be watched: the tile shows why and retries only slowly or on a hint. */
  #forbidden = false;
  /** performance.now() of the last consume started while forbidden. */
  #lastForbiddenTry = 0;
  readonly #backoff = new Backoff();
  #cameraState: CameraStatusMessage['state'] | undefined;
  /** When this tile last asked for its camera: the server's time-to-first-frame histogram gets the wait. */
  #askedAt: number | undefined;
  readonly #offLive: () => void;

  constructor(
    readonly tile: Tile,
    readonly cameraId: string,
    private readonly context: SubscriptionContext,
  ) {
    this.#offLive = tile.on('live', () => {
      if (this.#askedAt !== undefined) {
        this.context.receiver.reportFirstFrame(this.cameraId, performance.now() - this.#askedAt);
        this.#askedAt = undefined;
      }
      this.#forbidden = false;
      this.#clearFirstFrameTimer();
      this.#backoff.reset();
    });
  }

  get consumerId(): string | undefined {
    return this.#consumer?.id;
  }

  /** Whether the tile is showing "not allowed" (the camera may not be watched). */
  get forbidden(): boolean {
    return this.#forbidden;
  }

  /** Starts watching (now if online, otherwise at the next `online()`). */
  start(): void {
    this.tile.showConnecting(this.context.online() ? undefined : 'Waiting for the server…');
    void this.#consume();
  }

  /** The connection is back with a new transport: consume again. */
  online(): void {
    if (this.#closed) return;
    this.#clearRetry();
    void this.#consume();
  }

  /** The connection is gone; the server has closed our consumer with its transport. */
  offline(reason: string): void {
    if (this.#closed) return;
    this.#abandon();
    this.#dropConsumer(false);
    // A forbidden tile keeps saying why; the reconnection tries it once more.
    if (!this.#forbidden) this.tile.showReconnecting(reason);
  }

  /** The server closed our consumer (camera restarting or down, or no longer allowed). */
  consumerClosed(reason?: string, message?: string): void {
    if (this.#closed) return;
    if (reason !== undefined && FORBIDDEN_REASONS.has(reason)) {
      this.#dropConsumer(false);
      this.forbid(describeForbidden(reason, message));
      return;
    }
    this.#abandon();
    this.#dropConsumer(false);
    this.tile.showReconnecting(!reason || /restart/.test(reason) ? 'camera restarting' : humanise(reason));
    this.#scheduleRetry();
  }

  /**
   * The camera may not be watched now: stop, say why, and try again only at the next hint or
   * after FORBIDDEN_RETRY_MS. The consumer (if any) is closed on the server too.
   */
  forbid(message: string): void {
    if (this.#closed) return;
    this.#abandon();
    this.#dropConsumer(true);
    this.#forbidden = true;
    this.#backoff.reset();
    this.tile.showForbidden(message);
    this.#scheduleRetry();
  }

  /** Something suggests a forbidden camera may be watchable again (rights changed): try now. */
  mayWork(): void {
    if (this.#closed || !this.#forbidden) return;
    this.#clearRetry();
    void this.#consume();
  }

  /**
   * The camera is reconnecting on the server while this tile keeps its consumer (a relayed camera's
   * feed outlives the reconnect): the tile waits for the video to come back rather than re-subscribe.
   */
  get cameraReconnecting(): boolean {
    return this.#cameraState === 'backoff' || this.#cameraState === 'starting';
  }

  /** A camera status update for this tile's camera. */
  cameraState(status: CameraStatusMessage): void {
    this.#cameraState = status.state;
    if (this.#closed) return;
    // The consumer is kept while the camera reconnects: say so on the tile, wait for frames.
    if (this.#consumer && status.state === 'backoff') this.tile.showCameraReconnecting(describeReason(status.reason));
    if (this.#forbidden) {
      // The camera is live for someone: it may be back (reinstated, shared again). Not too often.
      if (status.state === 'live' && !this.#consumer && performance.now() - this.#lastForbiddenTry >= FORBIDDEN_HINT_MIN_MS) this.mayWork();
      return;
    }
    if (this.tile.state !== 'reconnecting' || this.#consumer) return;
    if (status.state === 'live') {
      // The camera is back: no need to wait for the timer.
      this.#clearRetry();
      void this.#consume();
    } else if (status.state === 'backoff') {
      this.tile.showReconnecting(describeReason(status.reason));
    }
  }

  /** Re-subscribes from scratch (the video stopped moving, or no first frame). */
  restart(reason: string): void {
    if (this.#closed) return;
    this.#abandon();
    this.#dropConsumer(true);
    this.tile.showReconnecting(reason);
    this.#scheduleRetry();
  }

  /** Stops watching for good (tile closed, camera replaced, signed out). Idempotent. */
  close(options: { notifyServer: boolean } = { notifyServer: true }): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abandon();
    this.#offLive();
    this.#dropConsumer(options.notifyServer);
  }

  async #consume(): Promise<void> {
    if (this.#closed || this.#consuming || this.#consumer || !this.context.online()) return;
    const generation = ++this.#generation;
    this.#consuming = true;
    if (this.#forbidden) this.#lastForbiddenTry = performance.now();
    const { receiver } = this.context;
    let consumer: msc.Consumer | undefined;
    this.#askedAt = performance.now();
    try {
      const received = await receiver.consume(this.cameraId);
      consumer = received.consumer;
      if (generation !== this.#generation || this.#closed) {
        receiver.closeConsumer(consumer, { notifyServer: true });
        return;
      }
      this.#consumer = consumer;
      if (this.#forbidden) {
        // Allowed again.
        this.#forbidden = false;
        this.tile.showConnecting();
      }
      consumer.on('trackended', () => {
        if (this.#consumer === consumer && !this.#closed) this.restart('video track ended');
      });
      this.tile.attach(received.track);
      this.#armFirstFrameTimer(generation);
      await receiver.resume(consumer);
    } catch (error) {
      if (generation !== this.#generation || this.#closed) return;
      if (consumer && this.#consumer === consumer) this.#dropConsumer(true);
      if ((error as { code?: unknown } | undefined)?.code === 'forbidden') {
        if (this.#forbidden) {
          // Still not allowed: the tile keeps the reason it shows, the server's first and most specific
          // word (e.g. "your grant was revoked: …"), rather than the refusal's generic one.
          this.#scheduleRetry();
          return;
        }
        this.forbid(describeForbidden('forbidden', (error as Error).message));
        return;
      }
      this.#forbidden = false;
      this.tile.showReconnecting(describeFailure(error));
      this.#scheduleRetry();
    } finally {
      if (generation === this.#generation) this.#consuming = false;
    }
  }

  /** Forgets any consume in flight (its result is closed when it arrives). */
  #abandon(): void {
    this.#generation++;
    this.#consuming = false;
    this.#clearRetry();
  }

  #dropConsumer(notifyServer: boolean): void {
    this.#clearFirstFrameTimer();
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) this.context.receiver.closeConsumer(consumer, { notifyServer });
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // Offline: the reconnection calls online() instead.
      void this.#consume();
    }, this.#forbidden ? FORBIDDEN_RETRY_MS : this.#backoff.next());
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #armFirstFrameTimer(generation: number): void {
    this.#clearFirstFrameTimer();
    this.#firstFrameTimer = setTimeout(() => {
      this.#firstFrameTimer = undefined;
      if (generation === this.#generation && this.tile.state !== 'live') this.restart('no video from the camera');
    }, FIRST_FRAME_TIMEOUT_MS);
  }

  #clearFirstFrameTimer(): void {
    if (this.#firstFrameTimer !== undefined) clearTimeout(this.#firstFrameTimer);
    this.#firstFrameTimer = undefined;
  }
}

/** The text a tile shows for a failed consume. */
export function describeFailure(error: unknown): string {
  const { code, message, details } = (error ?? {}) as { code?: unknown; message?: unknown; details?: { reason?: unknown } };
  const text = typeof message === 'string' ? message : '';
  switch (code) {
    case 'camera_unavailable':
      return typeof details?.reason === 'string' ? describeReason(details.reason) : `camera unavailable${text ? `: ${text}` : ''}`;
    case 'camera_timeout':
      return 'camera not responding';
    case 'forbidden':
      return 'not permitted to view this camera';
    case 'not_found':
      return 'camera not found';
    case 'shutting_down':
      return 'server restarting';
    case 'disconnected':
      return 'connection lost';
    case 'timeout':
      return 'server not answering';
    case 'incompatible':
      return 'this browser cannot play the camera';
    default:
      return text || 'camera unavailable';
  }
}

/** The text a forbidden tile shows: the server's reason when it gave one. */
export function describeForbidden(reason: string, message: string | undefined): string {
  const text = message?.trim();
  if (reason === 'camera_withdrawn') return text ? `Camera withdrawn: ${text}` : 'Camera withdrawn: it may no longer be watched';
  return text ? `Not allowed: ${text}` : 'Not allowed to view this camera';
}

/** The text for a camera's failure reason (IngestFailureReason, or 'restarting'). */
export function describeReason(reason: string | undefined): string {
  if (!reason) return 'camera unavailable';
  if (reason === 'restarting') return 'camera restarting';
  return `camera unavailable: ${humanise(reason)}`;
}

function humanise(code: string): string {
  return code.replace(/_/g, ' ');
}
