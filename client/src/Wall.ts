/**
 * The video wall: 1, 4, 9 or 16 tiles in a CSS grid, which camera each tile shows, the selected
 * tile, and one Subscription per visible tile with a camera. Layout and assignment are kept in
 * localStorage (tiles hidden by a smaller layout keep their camera for when it grows again).
 *
 * A tile may show an admin's review of a pending citizen camera (`assign(code, index, { review: true })`):
 * its consumes say `review: true`, it is marked `data-review` and it is not remembered (a review is
 * a one-off look, audited as such); once the camera is approved it becomes an ordinary tile.
 */
import type { CameraStatusMessage, SessionBandwidth, StreamChoice, StreamName } from '../../server/signalling/protocol.ts';
import { Emitter } from './Emitter.ts';
import { Subscription, type SubscriptionContext } from './Subscription.ts';
import { Tile, type StreamPreference, type TileState } from './Tile.ts';

export const LAYOUTS = [1, 4, 9, 16] as const;
export type Layout = (typeof LAYOUTS)[number];
const MAX_TILES = 16;
const STORAGE_KEY = 'c5.wall';
/** A live tile whose video has not advanced for this long (while the page is visible) is re-subscribed. */
const STALL_MS = 10000;
const STALL_CHECK_MS = 2000;

interface SavedWall {
  layout: Layout;
  cameras: Array<string | null>;
}

export interface TileInfo {
  index: number;
  cameraId: string | undefined;
  state: TileState;
  reason: string | undefined;
  videoWidth: number;
  videoHeight: number;
  /** The stream received, its resolution (the server's, else the decoded video's) and why the server chose it. */
  stream: StreamName | undefined;
  streamWidth: number | undefined;
  streamHeight: number | undefined;
  streamReason: StreamChoice['reason'] | undefined;
  /** The operator's choice in the tile's menu. */
  streamChoice: StreamPreference;
  /** Measured bit rate (kbit/s) from the server's last `bandwidth` event. */
  kbps: number | undefined;
  /** A stream switch is under way (the new stream plays hidden until its first frame). */
  switching: boolean;
  /** The short message a refused switch shows on the tile, while it shows. */
  notice: string | undefined;
  /** The tile shows an admin's review of a pending citizen camera. */
  review: boolean;
}

export interface WallEvents {
  /** Layout, assignment or selection changed. */
  change: [];
}

export interface WallContext extends SubscriptionContext {
  cameraName: (cameraId: string) => string | undefined;
}

export class Wall extends Emitter<WallEvents> {
  readonly #tiles: Tile[] = [];
  readonly #cameras: Array<string | undefined> = new Array<string | undefined>(MAX_TILES).fill(undefined);
  /** Tiles showing a review of a pending citizen camera (by index). */
  readonly #review = new Set<number>();
  readonly #subscriptions = new Map<number, Subscription>();
  #layout: Layout = 4;
  #selected: number | undefined;
  readonly #restored: boolean;
  readonly #stallTimer: ReturnType<typeof setInterval>;
  #freedTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #subscriptionContext: SubscriptionContext;
  readonly #onKeyDown = (event: KeyboardEvent): void => {
    if (event.key !== 'Escape') return;
    // Browsers usually leave native full screen on Escape themselves; headless and kiosk setups may not.
    for (const tile of this.#tiles) if (tile.maximised || document.fullscreenElement === tile.el) tile.leaveFullscreen();
  };

  constructor(
    private readonly container: HTMLElement,
    private readonly context: WallContext,
    private readonly storage: Storage,
  ) {
    super();
    this.#subscriptionContext = { ...context, capacityFreed: () => this.#capacityFreed() };
    for (let i = 0; i < MAX_TILES; i++) {
      const tile = new Tile(i);
      tile.on('select', () => this.select(i));
      tile.on('close', () => this.clear(i));
      this.#tiles.push(tile);
    }
    this.#restored = this.#restore();
    this.#render();
    document.addEventListener('keydown', this.#onKeyDown);
    this.#stallTimer = setInterval(() => this.#checkStalls(), STALL_CHECK_MS);
  }

  get layout(): Layout {
    return this.#layout;
  }

  /** Whether a saved wall was found in localStorage (otherwise the console fills it with the first cameras). */
  get restored(): boolean {
    return this.#restored;
  }

  get visibleTiles(): Tile[] {
    return this.#tiles.slice(0, this.#layout);
  }

  tiles(): TileInfo[] {
    return this.visibleTiles.map((tile) => ({
      index: tile.index,
      cameraId: tile.cameraId,
      state: tile.state,
      reason: tile.reason,
      videoWidth: tile.videoWidth,
      videoHeight: tile.videoHeight,
      stream: tile.stream?.name,
      streamWidth: numberOrUndefined(tile.el.dataset.streamWidth),
      streamHeight: numberOrUndefined(tile.el.dataset.streamHeight),
      streamReason: tile.stream?.reason,
      streamChoice: tile.streamPreference,
      kbps: tile.kbps,
      switching: tile.switching,
      notice: tile.el.dataset.notice,
      review: this.#review.has(tile.index),
    }));
  }

  setLayout(layout: Layout): void {
    if (layout === this.#layout) return;
    this.#layout = layout;
    if (this.#selected !== undefined && this.#selected >= layout) this.#selected = undefined;
    this.#render();
    this.#save();
    this.emit('change');
    // Smaller tiles take lighter streams: a tile refused for the cap may fit now (after the switches).
    this.#capacityFreed();
  }

  /**
   * Puts a camera on tile `index`, else on the selected tile, else on the first free one, else on
   * the first. `review`: an admin's look at a pending citizen camera (consumed with `review: true`).
   */
  assign(cameraId: string, index?: number, options: { review?: boolean } = {}): void {
    const target = index ?? this.#selected ?? this.#firstFree() ?? 0;
    if (target < 0 || target >= this.#layout) return;
    const review = options.review === true;
    if (this.#cameras[target] !== cameraId || this.#review.has(target) !== review) {
      this.#stop(target);
      this.#cameras[target] = cameraId;
      if (review) this.#review.add(target);
      else this.#review.delete(target);
    }
    this.#selected = undefined;
    this.#render();
    this.#save();
    this.emit('change');
  }

  /** Fills the free visible tiles with these cameras, in order (first start without a saved wall). */
  fill(cameraIds: string[]): void {
    const queue = [...cameraIds];
    for (let i = 0; i < this.#layout && queue.length > 0; i++) {
      if (this.#cameras[i] === undefined) this.#cameras[i] = queue.shift();
    }
    this.#render();
    this.#save();
    this.emit('change');
  }

  clear(index: number): void {
    if (this.#cameras[index] === undefined) return;
    this.#stop(index);
    this.#cameras[index] = undefined;
    this.#review.delete(index);
    this.#render();
    this.#save();
    this.emit('change');
  }

  select(index: number): void {
    this.#selected = this.#selected === index ? undefined : index;
    this.#renderSelection();
    this.emit('change');
  }

  /** Camera names arrived (listCameras): show them on the tiles. */
  refreshNames(): void {
    for (const tile of this.#tiles) if (tile.cameraId) tile.setName(this.context.cameraName(tile.cameraId) ?? tile.cameraId);
  }

  /** Connected with a fresh transport: every tile consumes (again). */
  online(): void {
    for (const subscription of this.#subscriptions.values()) subscription.online();
  }

  /** Connection lost: every tile shows why and waits for `online()`. */
  offline(reason: string): void {
    for (const subscription of this.#subscriptions.values()) subscription.offline(reason);
  }

  consumerClosed(event: { consumerId: string; cameraId: string; reason: string; message?: string }): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.owns(event.consumerId)) subscription.consumerClosed(event.consumerId, event.reason, event.message);
    }
  }

  /**
   * A session taken back after a dropped socket: the server still holds `open`; every other consumer
   * of a tile closed meanwhile (its tile consumes again).
   */
  reconcileConsumers(open: ReadonlySet<string>): void {
    for (const subscription of [...this.#subscriptions.values()]) {
      for (const consumerId of subscription.consumerIds) if (!open.has(consumerId)) subscription.consumerClosed(consumerId, 'camera_restarting');
    }
  }

  /** Whether a tile (or its stream switch) owns this consumer. */
  ownsConsumer(consumerId: string): boolean {
    return [...this.#subscriptions.values()].some((subscription) => subscription.owns(consumerId));
  }

  /** How the media reaches the console ('UDP', 'TCP', 'TURN'), shown on every tile. */
  setTransport(transport: string | undefined): void {
    for (const tile of this.#tiles) tile.setTransport(transport);
  }

  /** The page is visible again: its tiles had no video while hidden, which is not a stall. */
  pageShown(): void {
    const now = performance.now();
    for (const tile of this.#tiles) tile.resetStallClock(now);
  }

  /** The server's measured bit rates: each tile shows its consumer's. */
  bandwidth(event: SessionBandwidth): void {
    const byConsumer = new Map(event.consumers.map((consumer) => [consumer.consumerId, consumer.kbps]));
    for (const subscription of this.#subscriptions.values()) {
      const id = subscription.consumerId;
      if (id !== undefined) subscription.bandwidth(byConsumer.get(id));
    }
  }

  /** The server asks for a lighter stream on one of our consumers (the session is over its cap). */
  streamAdvice(event: { consumerId: string; cameraId: string; stream: StreamChoice }): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.owns(event.consumerId)) subscription.advise(event.stream);
    }
  }

  /** The cameras of the visible tiles (each once), reviews of pending citizen cameras left out. */
  watchedCameras(): string[] {
    return [...new Set([...this.#subscriptions.values()].filter((subscription) => !subscription.review).map((subscription) => subscription.cameraId))];
  }

  /**
   * A pending citizen camera was approved: tiles reviewing it keep their consumer and become
   * ordinary tiles (later consumes no longer say `review`), remembered with the wall.
   */
  reviewApproved(cameraId: string): void {
    let changed = false;
    for (const [index, subscription] of this.#subscriptions) {
      if (subscription.cameraId !== cameraId || !subscription.review) continue;
      subscription.review = false;
      this.#review.delete(index);
      changed = true;
    }
    for (const index of [...this.#review]) if (this.#cameras[index] === cameraId) this.#review.delete(index);
    if (!changed) return;
    this.#render();
    this.#save();
  }

  /** A pending citizen camera was rejected: tiles reviewing it stop and say why (the server closes the consumer too). */
  reviewRejected(cameraId: string, message: string): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.cameraId === cameraId && subscription.review) subscription.forbid(message);
    }
  }

  /**
   * After the user's rights changed: tiles whose camera is no longer in the user's list show
   * "not allowed" (and stop); forbidden tiles whose camera is in the list again try at once.
   * `allowed` answers undefined when it does not know (the tile is left alone).
   */
  checkAccess(allowed: (cameraId: string) => boolean | undefined): void {
    for (const subscription of this.#subscriptions.values()) {
      // A review is allowed by the server's own check at each consume (the camera is in no list).
      if (subscription.review) continue;
      const verdict = allowed(subscription.cameraId);
      if (verdict === false && !subscription.forbidden) subscription.forbid('Not allowed: this camera is no longer in your list');
      else if (verdict === true) subscription.mayWork();
    }
  }

  cameraState(status: CameraStatusMessage): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.cameraId === status.cameraId) subscription.cameraState(status);
    }
  }

  /** Stops every subscription (signed out); the assignment stays saved. */
  stopAll(reason: string, options: { notifyServer: boolean }): void {
    for (const [index, subscription] of this.#subscriptions) {
      subscription.close(options);
      this.#subscriptions.delete(index);
      this.#tiles[index]?.detach();
      this.#tiles[index]?.showReconnecting(reason);
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#stallTimer);
    if (this.#freedTimer !== undefined) clearTimeout(this.#freedTimer);
    document.removeEventListener('keydown', this.#onKeyDown);
    this.stopAll('closed', { notifyServer: true });
    for (const tile of this.#tiles) tile.dispose();
  }

  /**
   * A tile gave bandwidth back (closed, lighter stream, smaller layout): tiles refused for the cap
   * try again (each at most every few seconds). Deferred so a wall being torn down does not retry.
   */
  #capacityFreed(): void {
    if (this.#closed || this.#freedTimer !== undefined) return;
    this.#freedTimer = setTimeout(() => {
      this.#freedTimer = undefined;
      if (this.#closed) return;
      for (const subscription of this.#subscriptions.values()) subscription.capacityFreed();
    }, 0);
  }

  #firstFree(): number | undefined {
    for (let i = 0; i < this.#layout; i++) if (this.#cameras[i] === undefined) return i;
    return undefined;
  }

  #stop(index: number): void {
    const subscription = this.#subscriptions.get(index);
    if (!subscription) return;
    this.#subscriptions.delete(index);
    subscription.close({ notifyServer: true });
    this.#tiles[index]?.detach();
    this.#tiles[index]?.setStream(undefined);
  }

  /** Makes the DOM and the subscriptions match layout + assignment. */
  #render(): void {
    this.container.dataset.layout = String(this.#layout);
    for (const tile of this.#tiles) {
      const cameraId = this.#cameras[tile.index];
      const visible = tile.index < this.#layout;
      const review = cameraId !== undefined && this.#review.has(tile.index);
      if (review) tile.el.dataset.review = 'true';
      else delete tile.el.dataset.review;
      if (!visible || cameraId === undefined) {
        this.#stop(tile.index);
        if (!visible) tile.leaveFullscreen();
        tile.setCamera(cameraId, cameraId === undefined ? undefined : (this.context.cameraName(cameraId) ?? cameraId));
        continue;
      }
      const current = this.#subscriptions.get(tile.index);
      if (current?.cameraId === cameraId) continue;
      this.#stop(tile.index);
      tile.setCamera(cameraId, this.context.cameraName(cameraId) ?? cameraId);
      const subscription = new Subscription(tile, cameraId, this.#subscriptionContext, { review });
      this.#subscriptions.set(tile.index, subscription);
      subscription.start();
    }
    const visibleEls = this.visibleTiles.map((tile) => tile.el);
    const children = Array.from(this.container.children);
    if (children.length !== visibleEls.length || children.some((child, i) => child !== visibleEls[i])) {
      this.container.replaceChildren(...visibleEls);
    }
    this.#renderSelection();
  }

  #renderSelection(): void {
    for (const tile of this.#tiles) tile.selected = tile.index === this.#selected;
  }

  #checkStalls(): void {
    if (document.hidden) return;
    const now = performance.now();
    for (const [index, subscription] of this.#subscriptions) {
      const tile = this.#tiles[index];
      // A camera reconnecting on the server keeps the tile's consumer: re-subscribing would not help.
      if (tile && tile.stalledForMs(now) > STALL_MS && !subscription.cameraReconnecting) subscription.restart('no video');
    }
  }

  #save(): void {
    // A review is not remembered: after a reload the tile would ask for the camera as an ordinary one.
    const saved: SavedWall = { layout: this.#layout, cameras: this.#cameras.map((id, index) => (this.#review.has(index) ? null : (id ?? null))) };
    try {
      this.storage.setItem(STORAGE_KEY, JSON.stringify(saved));
    } catch {
      // Storage disabled or full: the wall works, it is just not remembered.
    }
  }

  #restore(): boolean {
    try {
      const raw = this.storage.getItem(STORAGE_KEY);
      if (!raw) return false;
      const saved = JSON.parse(raw) as Partial<SavedWall>;
      if (LAYOUTS.includes(saved.layout as Layout)) this.#layout = saved.layout as Layout;
      if (Array.isArray(saved.cameras)) {
        saved.cameras.slice(0, MAX_TILES).forEach((id, i) => {
          this.#cameras[i] = typeof id === 'string' && id.length > 0 ? id : undefined;
        });
      }
      return true;
    } catch {
      return false;
    }
  }
}

function numberOrUndefined(value: string | undefined): number | undefined {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) ? n : undefined;
}
