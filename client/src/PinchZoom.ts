/**
 * The digital zoom of a tile's video: a scale (1x to 4x) and an offset, applied as a CSS transform
 * to the tile's <video> elements (the one shown and the standby of a stream switch, so a switch
 * keeps the view). The offset is clamped so the zoomed picture always covers the tile. The tile
 * element carries the scale as `data-zoom` (for tests) and the class `zoomed` while above 1x.
 */
export const MIN_ZOOM = 1;
export const MAX_ZOOM = 4;

export class PinchZoom {
  #scale = MIN_ZOOM;
  #x = 0;
  #y = 0;

  constructor(
    private readonly frame: HTMLElement,
    private readonly targets: () => HTMLElement[],
  ) {
    this.#apply();
  }

  get scale(): number {
    return this.#scale;
  }

  get offset(): { x: number; y: number } {
    return { x: this.#x, y: this.#y };
  }

  /** Multiplies the scale by `factor`, keeping the picture under (clientX, clientY) in place. */
  zoomAt(factor: number, clientX: number, clientY: number): void {
    if (!Number.isFinite(factor) || factor <= 0) return;
    const scale = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.#scale * factor));
    const focus = this.#fromCentre(clientX, clientY);
    // The picture's point under the focus, in unzoomed coordinates, stays under the focus.
    const pictureX = (focus.x - this.#x) / this.#scale;
    const pictureY = (focus.y - this.#y) / this.#scale;
    this.#scale = scale;
    this.#x = focus.x - pictureX * scale;
    this.#y = focus.y - pictureY * scale;
    this.#clampAndApply();
  }

  /** Moves the zoomed picture by (dx, dy) CSS pixels. */
  panBy(dx: number, dy: number): void {
    if (this.#scale === MIN_ZOOM) return;
    this.#x += dx;
    this.#y += dy;
    this.#clampAndApply();
  }

  reset(): void {
    if (this.#scale === MIN_ZOOM && this.#x === 0 && this.#y === 0) return;
    this.#scale = MIN_ZOOM;
    this.#x = 0;
    this.#y = 0;
    this.#apply();
  }

  /** Re-applies the transform (a video element was swapped in). */
  refresh(): void {
    this.#apply();
  }

  /** A client point relative to the frame's centre (the videos' transform origin). */
  #fromCentre(clientX: number, clientY: number): { x: number; y: number } {
    const rect = this.frame.getBoundingClientRect();
    return { x: clientX - (rect.left + rect.width / 2), y: clientY - (rect.top + rect.height / 2) };
  }

  #clampAndApply(): void {
    const maxX = ((this.#scale - 1) * this.frame.clientWidth) / 2;
    const maxY = ((this.#scale - 1) * this.frame.clientHeight) / 2;
    this.#x = Math.min(maxX, Math.max(-maxX, this.#x));
    this.#y = Math.min(maxY, Math.max(-maxY, this.#y));
    if (this.#scale <= MIN_ZOOM + 1e-3) {
      this.#scale = MIN_ZOOM;
      this.#x = 0;
      this.#y = 0;
    }
    this.#apply();
  }

  #apply(): void {
    const zoomed = this.#scale > MIN_ZOOM;
    const transform = zoomed ? `translate(${this.#x.toFixed(1)}px, ${this.#y.toFixed(1)}px) scale(${this.#scale.toFixed(3)})` : '';
    for (const target of this.targets()) target.style.transform = transform;
    this.frame.dataset.zoom = this.#scale.toFixed(2);
    this.frame.classList.toggle('zoomed', zoomed);
  }
}
