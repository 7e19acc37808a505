/**
 * One tile of the video wall: its <video>, the camera's name, and the state the operator sees
 * (also exposed as `data-state` and `data-camera-id` on the tile element for tests).
 *
 * A tile is `live` only once its video has rendered a frame, not when the consumer exists.
 *
 * A stream switch plays the new track in a second <video> under the shown one (`prepareStandby`)
 * and swaps them at its first decoded frame (`promoteStandby`): no gap. The tile also reports its
 * size in device pixels (`measure`, and `resized` when it changed by more than a few percent or
 * entered or left full screen), offers a stream menu (Auto, Main, Sub, Low) and shows the stream
 * it receives and its bit rate: `data-stream`, `data-stream-width`, `data-stream-height`,
 * `data-kbps`, `data-stream-choice`, `data-stream-reason`, `data-switching` on the tile element.
 *
 * On touch screens a tap selects the tile, a double tap enters or leaves full screen, and a pinch
 * zooms the full-screen video (TileGestures, PinchZoom: `data-zoom` on the tile element).
 */
import type { StreamChoice, StreamName, TileSize } from '../../server/signalling/protocol.ts';
import { element, icon } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { PinchZoom } from './PinchZoom.ts';
import { TileGestures } from './TileGestures.ts';

/**
 * 'forbidden': the camera may not be watched (by this user, or by anyone for now: suspended,
 * retired, rights changed); the tile shows why and does not retry on its own every second.
 * 'capped': the server refused the camera because the session would go over its role's bandwidth
 * cap; the tile shows the server's message and retries as slowly as a forbidden one (or on a hint).
 */
export type TileState = 'empty' | 'connecting' | 'live' | 'reconnecting' | 'forbidden' | 'capped';

/** The operator's stream choice: 'auto' lets the server choose from the tile's size. */
export type StreamPreference = 'auto' | StreamName;
export const STREAM_PREFERENCES: readonly StreamPreference[] = ['auto', 'main', 'sub', 'low'];
const PREFERENCE_LABEL: Record<StreamPreference, string> = { auto: 'Auto', main: 'Main', sub: 'Sub', low: 'Low' };

/** Resizes are reported once they have settled for this long. */
const RESIZE_DEBOUNCE_MS = 300;
/** A resize smaller than this (fraction of width or height) is not reported. */
const RESIZE_THRESHOLD = 0.05;
/** How long a transient notice (a refused switch) stays on the tile. */
const NOTICE_MS = 5000;
/** While waiting for a standby video's first frame, its decoded frame count is also polled this often. */
const STANDBY_POLL_MS = 150;

export interface TileEvents {
  /** The operator clicked the tile (to pick it as the target of the next camera). */
  select: [];
  /** The operator closed the tile's camera. */
  close: [];
  /** The video rendered its first frame. */
  live: [];
  /** The tile's size (device pixels) or full-screen state changed noticeably; settled for ~300 ms. */
  resized: [size: TileSize];
  /** The operator picked a stream in the tile's menu. */
  choose: [preference: StreamPreference];
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
  capped: 'bandwidth limit',
};

export class Tile extends Emitter<TileEvents> {
  readonly el: HTMLDivElement;
  /** The video shown; a stream switch prepares the other one (`#standby`) and swaps them. */
  #video: FrameCallbackVideo;
  #standby: FrameCallbackVideo;
  readonly #name: HTMLSpanElement;
  readonly #badge: HTMLSpanElement;
  readonly #message: HTMLDivElement;
  readonly #streamLabel: HTMLSpanElement;
  /** 'UDP', 'TCP' or 'TURN': how the media reaches the console. */
  #transport: string | undefined;
  readonly #streamSelect: HTMLSelectElement;
  readonly #notice: HTMLDivElement;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #stream: StreamChoice | undefined;
  #kbps: number | undefined;
  /** Bumped whenever the standby video is prepared or dropped: an older wait for its first frame gives up. */
  #standbyGeneration = 0;
  #standbyWait: { generation: number; finish: (shown: boolean) => void } | undefined;
  /** The size last given to the server (`measure()`): resizes are compared with it. */
  #measured: TileSize | undefined;
  #resizeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #resizeObserver: ResizeObserver | undefined;
  readonly #onFullscreenChange = (): void => {
    if (!this.fullscreen) this.#zoom.reset();
    this.#scheduleResizeCheck();
  };
  /** The digital zoom of a full-screen tile (pinch), and the touch gestures that drive it. */
  readonly #zoom: PinchZoom;
  readonly #gestures: TileGestures;
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
    const video = createVideo();
    const standby = createVideo();
    standby.classList.add('standby');
    this.#video = video;
    this.#standby = standby;

    this.#name = element('span', { className: 'tile-name' });
    this.#badge = element('span', { className: 'badge' });
    const fullscreen = element('button', { className: 'tile-button', attrs: { type: 'button', title: 'Full screen', 'aria-label': 'Full screen', 'data-action': 'fullscreen' } }, [icon('fullscreen')]);
    const close = element('button', { className: 'tile-button', attrs: { type: 'button', title: 'Close camera', 'aria-label': 'Close camera', 'data-action': 'close' } }, [icon('close')]);
    const bar = element('div', { className: 'tile-bar' }, [this.#name, this.#badge, element('span', { className: 'tile-spacer' }), fullscreen, close]);
    this.#message = element('div', { className: 'tile-message' });
    this.#streamLabel = element('span', { className: 'tile-stream' });
    this.#streamSelect = element(
      'select',
      { className: 'tile-stream-select', attrs: { title: 'Stream', 'aria-label': 'Stream', 'data-action': 'stream' } },
      STREAM_PREFERENCES.map((preference) => element('option', { text: PREFERENCE_LABEL[preference], attrs: { value: preference } })),
    );
    const foot = element('div', { className: 'tile-foot' }, [this.#streamLabel, element('span', { className: 'tile-spacer' }), this.#streamSelect]);
    this.#notice = element('div', { className: 'tile-notice', attrs: { role: 'status' } });
    this.#notice.hidden = true;

    this.el = element('div', { className: 'tile', attrs: { 'data-index': String(index), tabindex: '0' } }, [video, standby, bar, foot, this.#notice, this.#message]);

    this.#zoom = new PinchZoom(this.el, () => [this.#video, this.#standby]);
    this.#gestures = new TileGestures(this.el, this.#zoom, () => this.fullscreen);
    this.#gestures.on('tap', () => this.emit('select'));
    this.#gestures.on('doubleTap', () => this.#onDoubleTap());

    for (const v of [video, standby]) {
      v.addEventListener('click', (event) => {
        event.stopPropagation();
        // Touch: a tap selects and a double tap goes full screen (TileGestures); the mouse clicks.
        if (this.#gestures.fromTouch(event)) return;
        this.emit('select');
        if (this.#state !== 'empty') this.toggleFullscreen();
      });
      // Only the video shown decides the tile's state; the standby has its own first-frame wait.
      v.addEventListener('playing', () => {
        if (v === this.#video) this.#onFrame();
      });
      v.addEventListener('resize', () => {
        if (v === this.#video) {
          this.#onFrame();
          this.#renderStream();
        }
      });
    }
    this.#streamSelect.addEventListener('click', (event) => event.stopPropagation());
    this.#streamSelect.addEventListener('change', () => {
      const preference = this.#streamSelect.value as StreamPreference;
      if (STREAM_PREFERENCES.includes(preference)) this.emit('choose', preference);
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
    this.el.addEventListener('click', (event) => {
      if (!this.#gestures.fromTouch(event)) this.emit('select');
    });
    this.el.addEventListener('keydown', (event) => {
      if (event.target !== this.el) return;
      if (event.key === 'Enter') this.toggleFullscreen();
      if (event.key === 'Delete' || event.key === 'Backspace') this.emit('close');
    });
    if (typeof ResizeObserver === 'function') {
      this.#resizeObserver = new ResizeObserver(() => this.#scheduleResizeCheck());
      this.#resizeObserver.observe(this.el);
    }
    document.addEventListener('fullscreenchange', this.#onFullscreenChange);
    this.setStreamPreference('auto');
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

  /** The digital zoom of the video (1 to 4; pinch in full screen on touch screens). */
  get zoom(): number {
    return this.#zoom.scale;
  }

  get maximised(): boolean {
    return this.#maximised;
  }

  /** Native full screen or maximised over the page. */
  get fullscreen(): boolean {
    return this.#maximised || this.#isFullscreen();
  }

  /** The stream received (from the consume answer), if any. */
  get stream(): StreamChoice | undefined {
    return this.#stream;
  }

  /** The measured bit rate of the tile's consumer (kbit/s), from the server's last `bandwidth` event. */
  get kbps(): number | undefined {
    return this.#kbps;
  }

  get streamPreference(): StreamPreference {
    return this.#streamSelect.value as StreamPreference;
  }

  get switching(): boolean {
    return this.el.dataset.switching === 'true';
  }

  /**
   * The tile's displayed size in device pixels (CSS size x devicePixelRatio, rounded), remembered
   * as the size the server knows; undefined while it is not laid out (hidden, detached).
   */
  measure(): TileSize | undefined {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.min(16_384, Math.round(this.el.clientWidth * ratio));
    const height = Math.min(16_384, Math.round(this.el.clientHeight * ratio));
    if (width < 1 || height < 1) return undefined;
    const size: TileSize = { width, height, fullscreen: this.fullscreen };
    this.#measured = size;
    return size;
  }

  /** Which stream the menu shows as chosen (does not emit `choose`). */
  setStreamPreference(preference: StreamPreference): void {
    this.#streamSelect.value = preference;
    this.el.dataset.streamChoice = preference;
  }

  /** The stream received now (undefined: none); the bit rate is unknown until the next `setKbps`. */
  setStream(stream: StreamChoice | undefined): void {
    this.#stream = stream;
    this.#kbps = undefined;
    this.#renderStream();
  }

  setKbps(kbps: number | undefined): void {
    this.#kbps = kbps === undefined ? undefined : Math.max(0, Math.round(kbps));
    this.#renderStream();
  }

  /** How the media reaches the console ('UDP', 'TCP', 'TURN'; undefined: not known yet): shown with the stream. */
  setTransport(transport: string | undefined): void {
    if (this.#transport === transport) return;
    this.#transport = transport;
    this.#renderStream();
  }

  setSwitching(switching: boolean): void {
    if (switching) this.el.dataset.switching = 'true';
    else delete this.el.dataset.switching;
  }

  /** Shows a short message over the video for a few seconds (a refused stream switch), without changing the state. */
  flash(message: string): void {
    if (this.#noticeTimer !== undefined) clearTimeout(this.#noticeTimer);
    this.#notice.textContent = message;
    this.#notice.hidden = false;
    this.el.dataset.notice = message;
    this.#noticeTimer = setTimeout(() => this.#clearNotice(), NOTICE_MS);
  }

  /**
   * Plays `track` in the hidden second video. Resolves true at its first decoded frame, false when
   * it is dropped first (`discardStandby`, `detach`, another `prepareStandby`) or after `timeoutMs`.
   */
  prepareStandby(track: MediaStreamTrack, timeoutMs: number): Promise<boolean> {
    this.discardStandby();
    const generation = ++this.#standbyGeneration;
    const video = this.#standby;
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {
      // A muted inline video may autoplay; a rejection means the stream was replaced meanwhile.
    });
    return new Promise<boolean>((resolve) => {
      let frameHandle: number | undefined;
      const poll = setInterval(() => {
        if (decodedFrames(video) > 0 && video.videoWidth > 0) finish(true);
      }, STANDBY_POLL_MS);
      const timeout = setTimeout(() => finish(false), timeoutMs);
      const onEvent = (): void => {
        if (video.videoWidth > 0 && video.videoHeight > 0) finish(true);
      };
      const finish = (shown: boolean): void => {
        if (this.#standbyWait?.generation !== generation) return;
        this.#standbyWait = undefined;
        clearInterval(poll);
        clearTimeout(timeout);
        video.removeEventListener('resize', onEvent);
        video.removeEventListener('playing', onEvent);
        if (frameHandle !== undefined) video.cancelVideoFrameCallback?.(frameHandle);
        resolve(shown && generation === this.#standbyGeneration);
      };
      this.#standbyWait = { generation, finish };
      video.addEventListener('resize', onEvent);
      video.addEventListener('playing', onEvent);
      if (video.requestVideoFrameCallback) {
        frameHandle = video.requestVideoFrameCallback(() => {
          frameHandle = undefined;
          finish(true);
        });
      }
    });
  }

  /** Shows the standby video (its first frame has arrived) in place of the current one, which stops. */
  promoteStandby(): void {
    this.#standbyWait?.finish(false);
    this.#standbyGeneration++;
    const old = this.#video;
    if (this.#frameHandle !== undefined) old.cancelVideoFrameCallback?.(this.#frameHandle);
    this.#frameHandle = undefined;
    this.#generation++;
    this.#video = this.#standby;
    this.#standby = old;
    this.#video.classList.remove('standby');
    old.classList.add('standby');
    if (old.srcObject) {
      old.pause();
      old.srcObject = null;
    }
    this.#armed = true;
    this.#lastFrames = this.#decodedFrames();
    this.#lastProgressAt = performance.now();
    this.#onFrame();
    this.#renderStream();
  }

  /** Stops the standby video (a switch given up); the video shown is untouched. */
  discardStandby(): void {
    this.#standbyWait?.finish(false);
    this.#standbyGeneration++;
    const video = this.#standby;
    if (video.srcObject) {
      video.pause();
      video.srcObject = null;
    }
  }

  /** The wall is closed for good: stop observing the page. */
  dispose(): void {
    this.detach();
    this.#resizeObserver?.disconnect();
    document.removeEventListener('fullscreenchange', this.#onFullscreenChange);
    this.#gestures.dispose();
    if (this.#resizeTimer !== undefined) clearTimeout(this.#resizeTimer);
    this.#resizeTimer = undefined;
    this.#clearNotice();
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
      this.setStream(undefined);
      this.setStreamPreference('auto');
      this.#clearNotice();
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

  /** The server refused the camera for the session's bandwidth cap: no video, and its message. */
  showCapped(reason: string): void {
    this.detach();
    this.#setState('capped', reason);
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
    this.discardStandby();
    this.setSwitching(false);
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

  /** The stall clock starts again now (the page was hidden, so no frames were expected). */
  resetStallClock(now: number): void {
    this.#lastFrames = this.#decodedFrames();
    this.#lastProgressAt = now;
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
    this.#zoom.reset();
  }

  /** A double tap resets a zoomed video, else enters or leaves full screen; the tile ends up selected. */
  #onDoubleTap(): void {
    if (this.#zoom.scale > 1) this.#zoom.reset();
    else if (this.#state !== 'empty') this.toggleFullscreen();
    if (!this.el.classList.contains('selected')) this.emit('select');
  }

  #isFullscreen(): boolean {
    return document.fullscreenElement === this.el;
  }

  #setMaximised(maximised: boolean): void {
    if (this.#maximised === maximised) return;
    this.#maximised = maximised;
    this.el.classList.toggle('maximised', maximised);
    if (!this.fullscreen) this.#zoom.reset();
    this.#scheduleResizeCheck();
  }

  #decodedFrames(): number {
    return decodedFrames(this.#video);
  }

  /** Debounces size changes; reports one when it differs noticeably from the size the server knows. */
  #scheduleResizeCheck(): void {
    if (this.#resizeTimer !== undefined) clearTimeout(this.#resizeTimer);
    this.#resizeTimer = setTimeout(() => {
      this.#resizeTimer = undefined;
      if (this.#state === 'empty' || this.#cameraId === undefined) return;
      const before = this.#measured;
      const ratio = window.devicePixelRatio || 1;
      const width = Math.round(this.el.clientWidth * ratio);
      const height = Math.round(this.el.clientHeight * ratio);
      if (width < 1 || height < 1) return;
      if (before && !changedNoticeably(before, { width, height, fullscreen: this.fullscreen })) return;
      const size = this.measure();
      if (size) this.emit('resized', size);
    }, RESIZE_DEBOUNCE_MS);
  }

  #clearNotice(): void {
    if (this.#noticeTimer !== undefined) clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
    this.#notice.hidden = true;
    this.#notice.textContent = '';
    delete this.el.dataset.notice;
  }

  /** The stream label ("sub 640x360 · 480 kbit/s") and its data attributes. */
  #renderStream(): void {
    const stream = this.#stream;
    const data = this.el.dataset;
    if (!stream) {
      delete data.stream;
      delete data.streamWidth;
      delete data.streamHeight;
      delete data.streamReason;
      delete data.kbps;
      this.#streamLabel.textContent = '';
      this.#streamLabel.title = '';
      return;
    }
    // The server's resolution when it knows it, otherwise the decoded video's.
    const width = stream.width ?? (this.#video.videoWidth || undefined);
    const height = stream.height ?? (this.#video.videoHeight || undefined);
    data.stream = stream.name;
    data.streamReason = stream.reason;
    if (width !== undefined && height !== undefined) {
      data.streamWidth = String(width);
      data.streamHeight = String(height);
    } else {
      delete data.streamWidth;
      delete data.streamHeight;
    }
    if (this.#kbps !== undefined) data.kbps = String(this.#kbps);
    else delete data.kbps;
    const parts = [width !== undefined && height !== undefined ? `${stream.name} ${width}x${height}` : stream.name];
    if (this.#kbps !== undefined) parts.push(formatKbps(this.#kbps));
    if (this.#transport !== undefined) parts.push(this.#transport);
    if (this.#transport !== undefined) data.transport = this.#transport;
    else delete data.transport;
    this.#streamLabel.textContent = parts.join(' · ');
    this.#streamLabel.title = `Stream: ${stream.name} (${REASON_LABEL[stream.reason] ?? stream.reason})`;
  }

  #onFrame(): void {
    const video = this.#video;
    if (!this.#armed || !video.srcObject || video.videoWidth === 0 || video.videoHeight === 0) return;
    if (this.#state === 'connecting' || this.#state === 'reconnecting' || this.#state === 'forbidden' || this.#state === 'capped') {
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
    else if (state === 'capped') message = this.#reason ?? 'Over the bandwidth limit of this console';
    this.#message.textContent = message;
    this.#message.hidden = message === '';
  }
}

const REASON_LABEL: Record<StreamChoice['reason'], string> = {
  tile_size: 'chosen for the tile size',
  fullscreen: 'full screen',
  requested: 'chosen in the menu',
  bandwidth_cap: 'limited by the bandwidth cap',
  default: 'default',
  substream_down: 'the substream is down',
};

function createVideo(): FrameCallbackVideo {
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
  return video;
}

function decodedFrames(video: HTMLVideoElement): number {
  if (typeof video.getVideoPlaybackQuality === 'function') return video.getVideoPlaybackQuality().totalVideoFrames;
  return Math.round(video.currentTime * 1000);
}

/** Whether the tile's size moved by more than RESIZE_THRESHOLD, or it entered or left full screen. */
export function changedNoticeably(before: TileSize, after: TileSize): boolean {
  if (Boolean(before.fullscreen) !== Boolean(after.fullscreen)) return true;
  return Math.abs(after.width - before.width) > before.width * RESIZE_THRESHOLD || Math.abs(after.height - before.height) > before.height * RESIZE_THRESHOLD;
}

/** "480 kbit/s", "2.1 Mbit/s". */
export function formatKbps(kbps: number): string {
  return kbps < 1000 ? `${Math.round(kbps)} kbit/s` : `${(kbps / 1000).toFixed(1)} Mbit/s`;
}
