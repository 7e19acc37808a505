/**
 * The sidebar (camera list, incidents) as a drawer on tablets: narrow windows, and touch screens
 * up to 1100 px wide (the media queries in styles.css decide; wider screens always show the
 * sidebar and nothing here changes what they show). The top-bar button opens and closes it over
 * the wall; a tap on the dimmed wall, Escape, or a camera picked from the list closes it. The
 * state is `data-drawer="open"` on the console element and `aria-expanded` on the button.
 */
export class CameraDrawer {
  #open = false;
  readonly #onToggle = (): void => this.setOpen(!this.#open);
  readonly #onBackdrop = (): void => this.setOpen(false);
  readonly #onDrawerClick = (event: MouseEvent): void => {
    // The camera list has put the camera on the wall (its own listener runs first, deeper down).
    if ((event.target as Element | null)?.closest('#camera-list [data-camera-id]')) this.setOpen(false);
  };
  readonly #onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.#open) this.setOpen(false);
  };

  constructor(
    private readonly host: HTMLElement,
    private readonly drawer: HTMLElement,
    private readonly toggle: HTMLButtonElement,
    private readonly backdrop: HTMLElement,
  ) {
    toggle.addEventListener('click', this.#onToggle);
    backdrop.addEventListener('click', this.#onBackdrop);
    drawer.addEventListener('click', this.#onDrawerClick);
    document.addEventListener('keydown', this.#onKeyDown);
    this.#render();
  }

  get open(): boolean {
    return this.#open;
  }

  setOpen(open: boolean): void {
    if (open === this.#open) return;
    this.#open = open;
    this.#render();
  }

  dispose(): void {
    this.toggle.removeEventListener('click', this.#onToggle);
    this.backdrop.removeEventListener('click', this.#onBackdrop);
    this.drawer.removeEventListener('click', this.#onDrawerClick);
    document.removeEventListener('keydown', this.#onKeyDown);
  }

  #render(): void {
    if (this.#open) this.host.dataset.drawer = 'open';
    else delete this.host.dataset.drawer;
    this.toggle.setAttribute('aria-expanded', String(this.#open));
    this.toggle.title = this.#open ? 'Hide the camera list' : 'Show the camera list';
  }
}
