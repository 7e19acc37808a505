/**
 * One tile of the video wall: its <video>, the camera's name, and the state the operator sees
 * (also exposed as `data-state` and `data-camera-id` on the tile element for tests).
 *
 * A tile is `live` only once its video has rendered a frame, not when the consumer exists.
 */
import { element, icon } from './dom.ts';
import { Emitter } from './Emitter.ts';

/**
 * 'forbidden': the camera may not be watched (by this user, or by anyone for now: suspended,
 * retired, rights changed); the tile shows why and does not retry on its own every second.
 */
export type TileState = 'empty' | 'connecting' | 'live' | 'reconnecting' | 'forbidden';

export interface TileEvents {
  /** The operator clicked the tile (to pick it as the target of the next camera). */
  select: [];
  /** The operator closed the tile's camera. */
  close: [];
  /** The video rendered its first frame. */
  live: [];
}

/** requestVideoFrameCallback is not in TypeScript's DOM library yet. */
type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (callback: (now: number, metadata: { width: number; height: number }) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

const STATE_LABEL: Record<TileState, string> = {
  empty: 'empty',
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  forbidden: 'not allowed',
};

export class Tile extends Emitter<TileEvents> {
  readonly el: HTMLDivElement;
  readonly #video: FrameCallbackVideo;
  readonly #name: HTMLSpanElement;
  readonly #badge: HTMLSpanElement;
  readonly #message: HTMLDivElement;
  #state: TileState = 'empty';
  #reason: string | undefined;
  #cameraId: string | undefined;
  /** Bumped at every attach/detach so callbacks of an older track are ignored. */
  #generation = 0;
  #frameHandle: number | undefined;
  #lastFrames = 0;
  #lastProgressAt = 0;
  #maximised = false;
  /** True between attach() and the next detach()/showReconnecting(): frames may turn the tile live. */
  #armed = false;

  constructor(readonly index: number) {
    super();
    const video = document.createElement('video') as FrameCallbackVideo;
    // Attributes really present in the DOM, and properties set too: autoplay of a muted inline video
    // needs no user gesture on any browser, including iOS Safari.
    video.setAttribute('muted', '');
    video.setAttribute('playsinline', '');
    video.setAttribute('autoplay', '');
    video.muted = true;
    video.defaultMuted = true;
    video.playsInline = true;
    video.autoplay = true;
    video.disablePictureInPicture = true;
    video.className = 'tile-video';
    video.title = 'Click for full screen';
    this.#video = video;

    this.#name = element('span', { className: 'tile-name' });
    this.#badge = element('span', { className: 'badge' });
    const fullscreen = element('button', { className: 'tile-button', attrs: { type: 'button', title: 'Full screen', 'aria-label': 'Full screen', 'data-action': 'fullscreen' } }, [icon('fullscreen')]);
    const close = element('button', { className: 'tile-button', attrs: { type: 'button', title: 'Close camera', 'aria-label': 'Close camera', 'data-action': 'close' } }, [icon('close')]);
    const bar = element('div', { className: 'tile-bar' }, [this.#name, this.#badge, element('span', { className: 'tile-spacer' }), fullscreen, close]);
    this.#message = element('div', { className: 'tile-message' });

    this.el = element('div', { className: 'tile', attrs: { 'data-index': String(index), tabindex: '0' } }, [video, bar, this.#message]);

    video.addEventListener('click', (event) => {
      event.stopPropagation();
      this.emit('select');
      if (this.#state !== 'empty') this.toggleFullscreen();
    });
    fullscreen.addEventListener('click', (event) => {
      event.stopPropagation();
      this.emit('select');
      this.toggleFullscreen();
    });
    close.addEventListener('click', (event) => {
      event.stopPropagation();
      this.leaveFullscreen();
      this.emit('close');
    });
    this.el.addEventListener('click', () => this.emit('select'));
    this.el.addEventListener('keydown', (event) => {
      if (event.target !== this.el) return;
      if (event.key === 'Enter') this.toggleFullscreen();
      if (event.key === 'Delete' || event.key === 'Backspace') this.emit('close');
    });
    video.addEventListener('playing', () => this.#onFrame());
    video.addEventListener('resize', () => this.#onFrame());
    this.#render();
  }

  get state(): TileState {
    return this.#state;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  get cameraId(): string | undefined {
    return this.#cameraId;
  }

  get videoWidth(): number {
    return this.#video.videoWidth;
  }

  get videoHeight(): number {
    return this.#video.videoHeight;
  }

  get maximised(): boolean {
    return this.#maximised;
  }

  set selected(selected: boolean) {
    if (this.el.classList.contains('selected') === selected) return;
    this.el.classList.toggle('selected', selected);
    this.#render();
  }

  /** Shows which camera the tile is for (undefined: the tile is empty). */
  setCamera(cameraId: string | undefined, name?: string): void {
    this.#cameraId = cameraId;
    if (cameraId === undefined) {
      this.detach();
      this.#setState('empty');
    }
    this.setName(name ?? cameraId ?? '');
  }

  setName(name: string): void {
    this.#name.textContent = name;
    this.#name.title = this.#cameraId ?? '';
  }

  showConnecting(message?: string): void {
    this.#setState('connecting', message);
  }

  /** Keeps the last frame (dimmed) until a new track is attached. */
  showReconnecting(reason: string): void {
    this.#armed = false;
    this.#setState('reconnecting', reason);
  }

  /**
   * The camera is reconnecting on the server while the tile keeps its track (a relayed camera's
   * consumer outlives the reconnect): shows the reason over the last frame and turns live again at
   * the next new frame, without a new subscription.
   */
  showCameraReconnecting(reason: string): void {
    if (this.#state !== 'live' || !this.#video.srcObject) return;
    this.#setState('reconnecting', reason);
    const video = this.#video;
    if (!video.requestVideoFrameCallback || this.#frameHandle !== undefined) return;
    const generation = this.#generation;
    const framesBefore = this.#decodedFrames();
    // Live again only when a newly decoded frame shows (a repaint of the last one does not count).
    const watch = (): void => {
      this.#frameHandle = video.requestVideoFrameCallback!(() => {
        this.#frameHandle = undefined;
        if (generation !== this.#generation || this.#state !== 'reconnecting') return;
        if (this.#decodedFrames() > framesBefore) this.#onFrame();
        else watch();
      });
    };
    watch();
  }

  /** The camera may not be watched: no video (not even the last frame), and the reason. */
  showForbidden(reason: string): void {
    this.detach();
    this.#setState('forbidden', reason);
  }

  /** Plays a received track; the tile turns live at its first rendered frame. */
  attach(track: MediaStreamTrack): void {
    this.detach();
    const generation = ++this.#generation;
    const video = this.#video;
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {
      // Autoplay of a muted inline video is allowed; a rejection here means the stream was replaced.
    });
    this.#lastFrames = 0;
    this.#lastProgressAt = performance.now();
    this.#armed = true;
    if (video.requestVideoFrameCallback) {
      this.#frameHandle = video.requestVideoFrameCallback(() => {
        this.#frameHandle = undefined;
        if (generation === this.#generation) this.#onFrame();
      });
    }
  }

  /** Stops showing video (the track belongs to its consumer, which the caller closes). */
  detach(): void {
    this.#generation++;
    this.#armed = false;
    const video = this.#video;
    if (this.#frameHandle !== undefined) video.cancelVideoFrameCallback?.(this.#frameHandle);
    this.#frameHandle = undefined;
    if (video.srcObject) {
      video.pause();
      video.srcObject = null;
    }
  }

  /**
   * How long (ms) the video of a live tile has not advanced; 0 when it is not live or is moving.
   * Called periodically by the wall, which re-subscribes a stalled tile.
   */
  stalledForMs(now: number): number {
    if (this.#state !== 'live') return 0;
    const frames = this.#decodedFrames();
    if (frames !== this.#lastFrames) {
      this.#lastFrames = frames;
      this.#lastProgressAt = now;
      return 0;
    }
    return now - this.#lastProgressAt;
  }

  toggleFullscreen(): void {
    if (this.#isFullscreen() || this.#maximised) this.leaveFullscreen();
    else this.enterFullscreen();
  }

  /** Native full screen when allowed, otherwise a maximised tile covering the page. */
  enterFullscreen(): void {
    const fallback = (): void => this.#setMaximised(true);
    if (typeof this.el.requestFullscreen !== 'function') {
      fallback();
      return;
    }
    this.el.requestFullscreen().then(() => this.#setMaximised(false), fallback);
  }

  leaveFullscreen(): void {
    if (this.#isFullscreen()) void document.exitFullscreen().catch(() => undefined);
    this.#setMaximised(false);
  }

  #isFullscreen(): boolean {
    return document.fullscreenElement === this.el;
  }

  #setMaximised(maximised: boolean): void {
    this.#maximised = maximised;
    this.el.classList.toggle('maximised', maximised);
  }

  #decodedFrames(): number {
    const video = this.#video;
    if (typeof video.getVideoPlaybackQuality === 'function') return video.getVideoPlaybackQuality().totalVideoFrames;
    return Math.round(video.currentTime * 1000);
  }

  #onFrame(): void {
    const video = this.#video;
    if (!this.#armed || !video.srcObject || video.videoWidth === 0 || video.videoHeight === 0) return;
    if (this.#state === 'connecting' || this.#state === 'reconnecting' || this.#state === 'forbidden') {
      this.#lastProgressAt = performance.now();
      this.#lastFrames = this.#decodedFrames();
      this.#setState('live');
      this.emit('live');
    }
  }

  #setState(state: TileState, reason?: string): void {
    this.#state = state;
    this.#reason = state === 'live' || state === 'empty' ? undefined : reason;
    this.#render();
  }

  #render(): void {
    const state = this.#state;
    this.el.dataset.state = state;
    if (this.#cameraId !== undefined) this.el.dataset.cameraId = this.#cameraId;
    else delete this.el.dataset.cameraId;
    this.#badge.textContent = STATE_LABEL[state];
    this.#badge.dataset.state = state;
    let message = '';
    if (state === 'empty') message = this.el.classList.contains('selected') ? 'Pick a camera from the list' : 'Select this tile, then pick a camera';
    else if (state === 'connecting') message = this.#reason ?? 'Connecting…';
    else if (state === 'reconnecting') message = this.#reason ?? 'Reconnecting…';
    else if (state === 'forbidden') message = this.#reason ?? 'Not allowed to view this camera';
    this.#message.textContent = message;
    this.#message.hidden = message === '';
  }
}
