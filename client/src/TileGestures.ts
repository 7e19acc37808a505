/**
 * Touch gestures on a tile, read from Pointer Events (touch and pen; the mouse keeps the tile's
 * click handlers): a tap, a double tap, and, while `zoomable()` holds (the tile is full screen),
 * a two-finger pinch that zooms the video around the fingers and a drag that pans it once zoomed.
 * Pointers that start on a control of the tile (buttons, the stream menu) are left to it.
 *
 * The browser still sends a click after a tap: the tile asks `fromTouch(click)` to ignore it, so a
 * tap is not counted twice.
 */
import { Emitter } from './Emitter.ts';
import type { PinchZoom } from './PinchZoom.ts';

export interface TileGesturesEvents {
  tap: [];
  doubleTap: [];
}

/** A finger moving further than this (CSS px) is a drag, not a tap. */
const TAP_SLOP_PX = 10;
/** A finger held longer than this is not a tap. */
const TAP_MAX_MS = 500;
/** Two taps this close in time and place make a double tap. */
const DOUBLE_TAP_MS = 350;
const DOUBLE_TAP_SLOP_PX = 40;
/** A click this soon after a touch ended is the touch's own click. */
const TOUCH_CLICK_MS = 800;
const CONTROLS = 'button, select, input, a, label';

interface Point {
  x: number;
  y: number;
}

export class TileGestures extends Emitter<TileGesturesEvents> {
  readonly #pointers = new Map<number, Point>();
  /** Where and when the current one-finger gesture started; undefined once it cannot be a tap. */
  #tapStart: (Point & { at: number }) | undefined;
  #dragging = false;
  #lastTap: (Point & { at: number }) | undefined;
  #lastTouchEndAt = -Infinity;
  readonly #onPointerDown = (event: PointerEvent): void => this.#down(event);
  readonly #onPointerMove = (event: PointerEvent): void => this.#move(event);
  readonly #onPointerUp = (event: PointerEvent): void => this.#up(event, false);
  readonly #onPointerCancel = (event: PointerEvent): void => this.#up(event, true);

  constructor(
    private readonly el: HTMLElement,
    private readonly zoom: PinchZoom,
    private readonly zoomable: () => boolean,
  ) {
    super();
    el.addEventListener('pointerdown', this.#onPointerDown);
    el.addEventListener('pointermove', this.#onPointerMove);
    el.addEventListener('pointerup', this.#onPointerUp);
    el.addEventListener('pointercancel', this.#onPointerCancel);
  }

  /** Whether a click on the tile comes from a touch (already handled here as a tap). */
  fromTouch(event: MouseEvent): boolean {
    const pointerType = (event as Partial<PointerEvent>).pointerType;
    if (pointerType === 'touch' || pointerType === 'pen') return true;
    return performance.now() - this.#lastTouchEndAt < TOUCH_CLICK_MS;
  }

  dispose(): void {
    this.el.removeEventListener('pointerdown', this.#onPointerDown);
    this.el.removeEventListener('pointermove', this.#onPointerMove);
    this.el.removeEventListener('pointerup', this.#onPointerUp);
    this.el.removeEventListener('pointercancel', this.#onPointerCancel);
    this.#pointers.clear();
    this.removeAllListeners();
  }

  #down(event: PointerEvent): void {
    if (event.pointerType === 'mouse') return;
    if (this.#pointers.size === 0 && (event.target as Element | null)?.closest(CONTROLS)) return;
    this.#pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (this.#pointers.size === 1) {
      this.#tapStart = { x: event.clientX, y: event.clientY, at: performance.now() };
      this.#dragging = false;
    } else {
      // A second finger: a pinch, never a tap.
      this.#tapStart = undefined;
    }
  }

  #move(event: PointerEvent): void {
    const previous = this.#pointers.get(event.pointerId);
    if (!previous) return;
    const current = { x: event.clientX, y: event.clientY };
    if (this.#pointers.size >= 2) {
      const [first, second] = [...this.#pointers.entries()];
      if (!first || !second || !this.zoomable()) {
        this.#pointers.set(event.pointerId, current);
        return;
      }
      const before = [first[1], second[1]] as const;
      this.#pointers.set(event.pointerId, current);
      const after = [this.#pointers.get(first[0])!, this.#pointers.get(second[0])!] as const;
      const distanceBefore = distance(before[0], before[1]);
      const distanceAfter = distance(after[0], after[1]);
      const middleBefore = middle(before[0], before[1]);
      const middleAfter = middle(after[0], after[1]);
      if (distanceBefore > 0) this.zoom.zoomAt(distanceAfter / distanceBefore, middleAfter.x, middleAfter.y);
      this.zoom.panBy(middleAfter.x - middleBefore.x, middleAfter.y - middleBefore.y);
      return;
    }
    this.#pointers.set(event.pointerId, current);
    const start = this.#tapStart;
    if (!this.#dragging && (!start || distance(start, current) > TAP_SLOP_PX)) {
      this.#dragging = true;
      this.#tapStart = undefined;
    }
    if (this.#dragging && this.zoomable()) this.zoom.panBy(current.x - previous.x, current.y - previous.y);
  }

  #up(event: PointerEvent, cancelled: boolean): void {
    if (!this.#pointers.delete(event.pointerId)) return;
    const now = performance.now();
    this.#lastTouchEndAt = now;
    if (this.#pointers.size > 0) return;
    const start = this.#tapStart;
    this.#tapStart = undefined;
    if (cancelled || !start || now - start.at > TAP_MAX_MS) return;
    const last = this.#lastTap;
    if (last && now - last.at < DOUBLE_TAP_MS && distance(last, start) < DOUBLE_TAP_SLOP_PX) {
      this.#lastTap = undefined;
      this.emit('doubleTap');
    } else {
      this.#lastTap = { x: start.x, y: start.y, at: now };
      this.emit('tap');
    }
  }
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

function middle(a: Point, b: Point): Point {
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
