/**
 * One tile watching one camera: consume, play, resume, and keep it playing without a reload.
 *
 *   consume -> attach track -> resumeConsumer -> (first frame) live
 *   consumerClosed            -> reconnecting "camera restarting", re-consume when the camera is live
 *   consumerClosed withdrawn/forbidden, or consume refused 'forbidden'
 *                             -> forbidden with the server's message; tried again only when a hint says
 *                                it may work (camera live, rights changed, reconnection) or every 60 s
 *   consume refused 'bandwidth_cap', or consumerClosed 'bandwidth_cap'
 *                             -> capped with the server's message; tried again every 60 s, at once when the
 *                                operator picks another stream, or (5 s apart at most) when another tile
 *                                gives bandwidth back
 *   consume failed            -> reconnecting with the reason, retry with backoff (1 s -> 10 s)
 *   socket lost               -> reconnecting "connection lost", re-consume after the reconnection
 *   no frame for too long     -> reconnecting "no video", re-consume
 *
 * Stream switches (tile resized and the server says so, a stream picked in the tile's menu, the
 * server's streamAdvice) have no gap: the new stream is consumed with `replaces`, played hidden, and
 * shown at its first decoded frame; only then is the old consumer closed. A failed switch leaves
 * the old stream playing and says why on the tile for a few seconds.
 */
import type { types as msc } from 'mediasoup-client';
import type { CameraStatusMessage, StreamChoice, StreamName } from '../../server/signalling/protocol.ts';
import { Backoff } from './Backoff.ts';
import type { MediaReceiver } from './MediaReceiver.ts';
import type { StreamPreference, Tile } from './Tile.ts';

/** A consumer whose track has shown no frame after this long is re-subscribed (covers a GOP of several seconds). */
const FIRST_FRAME_TIMEOUT_MS = 15000;
/** A tile that may not watch its camera tries again this often at most, unless a hint comes first. */
export const FORBIDDEN_RETRY_MS = 60_000;
/** Hints (camera live, bandwidth given back) do not retry a forbidden or capped tile more often than this. */
const FORBIDDEN_HINT_MIN_MS = 5000;
/** A stream switch whose new stream shows no frame after this long is given up (the old one keeps playing). */
const SWITCH_FIRST_FRAME_TIMEOUT_MS = 10000;
/** Heavier streams weigh more: a switch to a lighter one gives bandwidth back to the session. */
const STREAM_WEIGHT: Record<StreamName, number> = { low: 0, sub: 1, main: 2 };
/** consumerClosed reasons meaning "you may not watch this camera now", not "wait, it comes back". */
const FORBIDDEN_REASONS = new Set(['camera_withdrawn', 'camera_forbidden']);

export interface SubscriptionContext {
  receiver: MediaReceiver;
  /** Connected to the server, with a receive transport. */
  online: () => boolean;
  /** This tile gave bandwidth back (closed, or a lighter stream): tiles refused for the cap may try again. */
  capacityFreed?: () => void;
}

type Blocked = 'forbidden' | 'capped';
type SwitchCause = 'resize' | 'menu' | 'advice';

interface StreamSwitch {
  /** The new consumer, once the server has answered. */
  consumer: msc.Consumer | undefined;
  /** Undefined: the stream the server chooses for the tile's size. */
  target: StreamName | undefined;
  cause: SwitchCause;
  /** The menu's choice before a switch the operator asked for, restored if it fails. */
  previous: StreamPreference | undefined;
}

export class Subscription {
  #consumer: msc.Consumer | undefined;
  /** The stream #consumer carries (the consume answer). */
  #stream: StreamChoice | undefined;
  /** Bumped whenever an in-flight consume must be forgotten (stop, disconnect, restart). */
  #generation = 0;
  #consuming = false;
  #closed = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #firstFrameTimer: ReturnType<typeof setTimeout> | undefined;
  /** The camera may not be watched (forbidden) or not within the session's cap (capped): the tile says why, retries slowly. */
  #blocked: Blocked | undefined;
  /** performance.now() of the last consume started while blocked. */
  #lastBlockedTry = 0;
  readonly #backoff = new Backoff();
  #cameraState: CameraStatusMessage['state'] | undefined;
  /** When this tile last asked for its camera: the server's time-to-first-frame histogram gets the wait. */
  #askedAt: number | undefined;
  /** The operator's stream choice for this tile ('auto': the server chooses from the tile's size). */
  #preference: StreamPreference = 'auto';
  /** The stream switch under way: the new consumer plays hidden until its first frame. */
  #switch: StreamSwitch | undefined;
  /** The tile was resized during a switch: ask the server again once it is done. */
  #resizeAfterSwitch = false;
  /** The server's message when it closed the old consumer for the cap during a switch (shown if the switch fails). */
  #cappedDuringSwitch: string | undefined;
  readonly #offTile: Array<() => void>;

  /**
   * An admin's review of a pending citizen camera: every consume says `review: true` (the server
   * audits it as a review view). Cleared once the camera is approved (it is an ordinary camera then).
   */
  review: boolean;

  constructor(
    readonly tile: Tile,
    readonly cameraId: string,
    private readonly context: SubscriptionContext,
    options: { review?: boolean } = {},
  ) {
    this.review = options.review === true;
    tile.setStreamPreference(this.#preference);
    this.#offTile = [
      tile.on('live', () => {
        if (this.#askedAt !== undefined) {
          this.context.receiver.reportFirstFrame(this.cameraId, performance.now() - this.#askedAt);
          this.#askedAt = undefined;
        }
        this.#blocked = undefined;
        this.#clearFirstFrameTimer();
        this.#backoff.reset();
      }),
      tile.on('resized', () => void this.#askServer()),
      tile.on('choose', (preference) => this.choose(preference)),
    ];
  }

  get consumerId(): string | undefined {
    return this.#consumer?.id;
  }

  /** This tile's consumer and the one a stream switch is preparing, when there are. */
  get consumerIds(): string[] {
    return [this.#consumer?.id, this.#switch?.consumer?.id].filter((id): id is string => id !== undefined);
  }

  /** Whether `consumerId` is this tile's consumer, or the one a stream switch is preparing. */
  owns(consumerId: string): boolean {
    return this.#consumer?.id === consumerId || this.#switch?.consumer?.id === consumerId;
  }

  /** Whether the tile is showing "not allowed" (the camera may not be watched). */
  get forbidden(): boolean {
    return this.#blocked === 'forbidden';
  }

  /** Whether the tile is showing the server's bandwidth-cap refusal. */
  get capped(): boolean {
    return this.#blocked === 'capped';
  }

  get preference(): StreamPreference {
    return this.#preference;
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
    this.#abandon({ notifyServer: false });
    this.#dropConsumer(false);
    // A forbidden or capped tile keeps saying why; the reconnection tries it once more.
    if (!this.#blocked) this.tile.showReconnecting(reason);
  }

  /** The server closed one of our consumers (camera restarting or down, no longer allowed, bandwidth cap). */
  consumerClosed(consumerId: string, reason?: string, message?: string): void {
    if (this.#closed) return;
    const pending = this.#switch;
    if (pending?.consumer?.id === consumerId) {
      // The new stream went before it was shown: the old one keeps playing.
      this.#switchFailed(pending, describeClosed(reason, message), { notifyServer: false });
      return;
    }
    if (this.#consumer?.id !== consumerId) return;
    if (reason === 'bandwidth_cap') {
      if (pending) {
        // The switch to a lighter stream is on its way: the last frame stays until it shows.
        this.#cappedDuringSwitch = describeCapped(message);
        this.#dropConsumer(false);
        return;
      }
      this.#dropConsumer(false);
      this.#block('capped', describeCapped(message));
      return;
    }
    if (reason !== undefined && FORBIDDEN_REASONS.has(reason)) {
      this.#dropConsumer(false);
      this.forbid(describeForbidden(reason, message));
      return;
    }
    this.#abandon();
    this.#dropConsumer(false);
    this.tile.showReconnecting(!reason || /restart/.test(reason) ? 'camera restarting' : humanise(reason));
    this.#scheduleRetry();
    this.context.capacityFreed?.();
  }

  /**
   * The camera may not be watched now: stop, say why, and try again only at the next hint or
   * after FORBIDDEN_RETRY_MS. The consumer (if any) is closed on the server too.
   */
  forbid(message: string): void {
    this.#block('forbidden', message);
  }

  /** Something suggests a forbidden camera may be watchable again (rights changed): try now. */
  mayWork(): void {
    if (this.#closed || this.#blocked !== 'forbidden') return;
    this.#clearRetry();
    void this.#consume();
  }

  /**
   * Another tile gave bandwidth back (closed, or switched to a lighter stream): a tile refused for the
   * cap tries again, but not more often than every FORBIDDEN_HINT_MIN_MS.
   */
  capacityFreed(): void {
    if (this.#closed || this.#blocked !== 'capped' || this.#consuming || this.#consumer) return;
    this.#clearRetry();
    const wait = this.#lastBlockedTry + FORBIDDEN_HINT_MIN_MS - performance.now();
    if (wait <= 0) void this.#consume();
    else this.#scheduleRetry(wait);
  }

  /**
   * The operator picked a stream in the tile's menu: switch to it without a gap ('auto': ask the
   * server what the tile's size calls for). A tile refused for the cap tries again at once.
   */
  choose(preference: StreamPreference): void {
    if (this.#closed || preference === this.#preference) return;
    const previous = this.#preference;
    this.#preference = preference;
    this.tile.setStreamPreference(preference);
    if (this.#blocked === 'capped') {
      if (!this.#consuming) {
        this.#clearRetry();
        void this.#consume();
      }
      return;
    }
    // No consumer yet: the next consume asks for it (one in flight is corrected when it answers).
    this.#applyPreference(previous);
  }

  /** The server asks this tile to go to a lighter stream (over the cap): switch without a gap. */
  advise(stream: StreamChoice): void {
    if (this.#closed || !this.#consumer) return;
    if (this.#switch) {
      if (this.#switch.target === stream.name) return;
    } else if (this.#stream?.name === stream.name) {
      return;
    }
    void this.#switchTo(stream.name, 'advice');
  }

  /** The server's measured bit rate of this tile's consumer (undefined: not in the last sample). */
  bandwidth(kbps: number | undefined): void {
    if (this.#closed || !this.#consumer) return;
    this.tile.setKbps(kbps);
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
    if (this.#blocked === 'forbidden') {
      // The camera is live for someone: it may be back (reinstated, shared again). Not too often.
      if (status.state === 'live' && !this.#consumer && performance.now() - this.#lastBlockedTry >= FORBIDDEN_HINT_MIN_MS) this.mayWork();
      return;
    }
    // A capped tile waits for bandwidth, not for the camera.
    if (this.#blocked === 'capped') return;
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
    const hadConsumer = this.#consumer !== undefined;
    this.#abandon(options);
    for (const off of this.#offTile) off();
    this.#dropConsumer(options.notifyServer);
    this.tile.setStream(undefined);
    if (hadConsumer && options.notifyServer) this.context.capacityFreed?.();
  }

  async #consume(): Promise<void> {
    if (this.#closed || this.#consuming || this.#consumer || !this.context.online()) return;
    const generation = ++this.#generation;
    this.#consuming = true;
    if (this.#blocked) this.#lastBlockedTry = performance.now();
    const { receiver } = this.context;
    const preference = this.#preference;
    let consumer: msc.Consumer | undefined;
    this.#askedAt = performance.now();
    try {
      const received = await receiver.consume(this.cameraId, { tile: this.tile.measure(), stream: preference === 'auto' ? undefined : preference, review: this.review });
      consumer = received.consumer;
      if (generation !== this.#generation || this.#closed) {
        receiver.closeConsumer(consumer, { notifyServer: true });
        return;
      }
      this.#adopt(consumer);
      this.#setStream(received.stream);
      if (this.#blocked) {
        // Allowed again.
        this.#blocked = undefined;
        this.tile.showConnecting();
      }
      this.tile.attach(received.track);
      this.#armFirstFrameTimer(generation);
      await receiver.resume(consumer);
      // The operator picked another stream while this consume was on its way.
      if (generation === this.#generation && this.#consumer === consumer && this.#preference !== preference) this.#applyPreference();
    } catch (error) {
      if (generation !== this.#generation || this.#closed) return;
      if (consumer && this.#consumer === consumer) this.#dropConsumer(true);
      const code = (error as { code?: unknown } | undefined)?.code;
      if (code === 'forbidden') {
        if (this.#blocked === 'forbidden') {
          // Still not allowed: the tile keeps the reason it shows, the server's first and most specific
          // word (e.g. "your grant was revoked: …"), rather than the refusal's generic one.
          this.#scheduleRetry();
          return;
        }
        this.forbid(describeForbidden('forbidden', (error as Error).message));
        return;
      }
      if (code === 'bandwidth_cap') {
        const message = describeCapped((error as Error).message);
        if (this.#blocked === 'capped') {
          // Still over the cap: the server's latest word, and the same slow retry.
          this.tile.showCapped(message);
          this.#scheduleRetry();
          return;
        }
        this.#block('capped', message);
        return;
      }
      this.#blocked = undefined;
      this.tile.showReconnecting(describeFailure(error));
      this.#scheduleRetry();
    } finally {
      if (generation === this.#generation) this.#consuming = false;
    }
  }

  /** The menu's choice differs from what the tile receives: switch, or ask the server ('auto'). */
  #applyPreference(previous?: StreamPreference): void {
    if (this.#closed || !this.#consumer) return;
    const preference = this.#preference;
    const pending = this.#switch;
    // A switch the server advised (over the cap) goes on: without it the server closes the consumer.
    if (preference === 'auto') {
      if (pending?.cause === 'menu') this.#cancelSwitch(true);
      // The stream shown was picked in the menu: the server keeps answering it to tileResized, so
      // consume again by the tile's size (the server chooses) rather than ask.
      if (this.#stream?.reason === 'requested' && !this.#switch) {
        void this.#switchTo(undefined, 'resize');
        return;
      }
      void this.#askServer();
      return;
    }
    if (pending?.target === preference) return;
    if (this.#stream?.name === preference) {
      // Back to what is shown: give up the switch under way.
      if (pending && pending.cause !== 'advice') this.#cancelSwitch(true);
      return;
    }
    void this.#switchTo(preference, 'menu', previous);
  }

  /**
   * Tells the server the tile's size (resized, full screen, or 'auto' picked); when it answers
   * `switch` and the operator left the choice to it, switches to the stream it names.
   */
  async #askServer(): Promise<void> {
    const consumer = this.#consumer;
    if (this.#closed || !consumer || !this.context.online()) return;
    if (this.#switch) {
      this.#resizeAfterSwitch = true;
      return;
    }
    const tile = this.tile.measure();
    if (!tile) return;
    const generation = this.#generation;
    let answer: { stream: StreamChoice; switch: boolean };
    try {
      answer = await this.context.receiver.tileResized(consumer.id, tile);
    } catch {
      // Consumer gone meanwhile, or connection lost: the next consume reports the size.
      return;
    }
    if (this.#closed || generation !== this.#generation || this.#consumer !== consumer || this.#switch) return;
    if (answer.switch && this.#preference === 'auto') void this.#switchTo(answer.stream.name, 'resize');
  }

  /**
   * Switches to `target` without a gap: consume it (replacing the current consumer), play it in the
   * tile's hidden video, and only at its first decoded frame show it and close the old consumer.
   * If anything fails the old stream keeps playing and the tile says why for a few seconds.
   */
  async #switchTo(target: StreamName | undefined, cause: SwitchCause, previous?: StreamPreference): Promise<void> {
    const old = this.#consumer;
    if (this.#closed || !old || !this.context.online()) return;
    this.#cancelSwitch(true);
    const attempt: StreamSwitch = { consumer: undefined, target, cause, previous };
    this.#switch = attempt;
    this.tile.setSwitching(true);
    const generation = this.#generation;
    const current = (): boolean => this.#switch === attempt && generation === this.#generation && !this.#closed;
    const { receiver } = this.context;
    try {
      // A switch for the tile's size leaves the choice to the server (it names the same stream, with
      // its reason: tile_size, fullscreen): an explicit `stream` would be taken as the operator's
      // choice, shown as 'requested' and kept by the server at every later resize, so the tile would
      // never follow its size again. The menu and the server's advice name the stream.
      const stream = cause === 'resize' ? undefined : target;
      const received = await receiver.consume(this.cameraId, { tile: this.tile.measure(), ...(stream && { stream }), replaces: old.id, review: this.review });
      if (!current()) {
        receiver.closeConsumer(received.consumer, { notifyServer: true });
        return;
      }
      attempt.consumer = received.consumer;
      const shown = this.tile.prepareStandby(received.track, SWITCH_FIRST_FRAME_TIMEOUT_MS);
      await receiver.resume(received.consumer);
      if (!current()) return;
      if (!(await shown)) {
        if (current()) this.#switchFailed(attempt, 'no video from the new stream', { notifyServer: true });
        return;
      }
      if (!current()) return;
      this.#switch = undefined;
      this.#cappedDuringSwitch = undefined;
      this.tile.setSwitching(false);
      const before = this.#stream;
      // Undefined when the server closed the old consumer meanwhile (over the cap).
      const replaced = this.#consumer;
      this.#clearFirstFrameTimer();
      this.#adopt(received.consumer);
      this.#setStream(received.stream);
      this.tile.promoteStandby();
      if (replaced) receiver.closeConsumer(replaced, { notifyServer: true });
      if (before && STREAM_WEIGHT[received.stream.name] < STREAM_WEIGHT[before.name]) this.context.capacityFreed?.();
    } catch (error) {
      if (current()) this.#switchFailed(attempt, describeFailure(error), { notifyServer: true });
    } finally {
      if (!this.#switch && this.#resizeAfterSwitch && !this.#closed) {
        this.#resizeAfterSwitch = false;
        void this.#askServer();
      }
    }
  }

  /** A switch did not make it: drop the new consumer, keep the old one and say why (briefly). */
  #switchFailed(attempt: StreamSwitch, reason: string, options: { notifyServer: boolean }): void {
    if (this.#switch !== attempt) return;
    this.#cancelSwitch(options.notifyServer);
    if (attempt.cause === 'menu' && attempt.previous !== undefined) {
      // The menu shows what the tile gets, not a choice the server refused.
      this.#preference = attempt.previous;
      this.tile.setStreamPreference(attempt.previous);
    }
    if (!this.#consumer) {
      // The server closed the old stream for the cap meanwhile: nothing left to show.
      const message = this.#cappedDuringSwitch ?? describeCapped(undefined);
      this.#cappedDuringSwitch = undefined;
      this.#block('capped', message);
      return;
    }
    this.tile.flash(`Could not switch to ${attempt.target ?? 'the stream for the tile size'}: ${reason}`);
  }

  /** Gives up the switch under way: its consumer is closed, its hidden video stopped. */
  #cancelSwitch(notifyServer: boolean): void {
    const attempt = this.#switch;
    if (!attempt) return;
    this.#switch = undefined;
    this.tile.discardStandby();
    this.tile.setSwitching(false);
    if (attempt.consumer) this.context.receiver.closeConsumer(attempt.consumer, { notifyServer });
  }

  /** Makes `consumer` the tile's consumer (a consume, or a completed switch). */
  #adopt(consumer: msc.Consumer): void {
    this.#consumer = consumer;
    consumer.on('trackended', () => {
      if (this.#consumer === consumer && !this.#closed) this.restart('video track ended');
    });
  }

  #setStream(stream: StreamChoice | undefined): void {
    this.#stream = stream;
    this.tile.setStream(stream);
  }

  /** Stops, shows why (forbidden or capped) and retries only slowly or on a hint. */
  #block(kind: Blocked, message: string): void {
    if (this.#closed) return;
    this.#abandon();
    this.#dropConsumer(true);
    this.#blocked = kind;
    this.#backoff.reset();
    if (kind === 'forbidden') this.tile.showForbidden(message);
    else this.tile.showCapped(message);
    this.#scheduleRetry();
  }

  /** Forgets any consume in flight (its result is closed when it arrives) and any stream switch. */
  #abandon(options: { notifyServer: boolean } = { notifyServer: true }): void {
    this.#generation++;
    this.#consuming = false;
    this.#resizeAfterSwitch = false;
    this.#cappedDuringSwitch = undefined;
    this.#cancelSwitch(options.notifyServer);
    this.#clearRetry();
  }

  #dropConsumer(notifyServer: boolean): void {
    this.#clearFirstFrameTimer();
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (consumer) this.context.receiver.closeConsumer(consumer, { notifyServer });
    // During a switch the old stream's label stays until the new one shows.
    if (!this.#switch) this.#setStream(undefined);
  }

  #scheduleRetry(delayMs?: number): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        // Offline: the reconnection calls online() instead.
        void this.#consume();
      },
      delayMs ?? (this.#blocked ? FORBIDDEN_RETRY_MS : this.#backoff.next()),
    );
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
    case 'bandwidth_cap':
      return text || 'over the bandwidth limit of this console';
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

/** The text a tile refused for the session's bandwidth cap shows: the server's message when it gave one. */
export function describeCapped(message: string | undefined): string {
  const text = message?.trim();
  return text ? `Bandwidth limit: ${text}` : 'Bandwidth limit: this console is using all the bandwidth it may';
}

/** Why the server closed a consumer, in words. */
function describeClosed(reason: string | undefined, message: string | undefined): string {
  const text = message?.trim();
  if (text) return text;
  return reason ? humanise(reason) : 'closed by the server';
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
