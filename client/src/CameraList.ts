/**
 * The fleet view in the sidebar: the cameras this operator may view, a page at a time (never the
 * whole fleet), filtered by the server on area, municipality, health and a name-or-code search;
 * the fleet's health counts as chips; per camera its health and live state, kept current by the
 * server's events. Clicking a camera asks for it on the wall.
 *
 * Rows arrive in pages of PAGE_SIZE as the operator scrolls near the end. Every filter change
 * starts a new generation: answers of older generations are dropped.
 */
import type { CameraHealth, CameraPage, CameraStatusMessage, CameraSummary, RequestPayload } from '../../server/signalling/protocol.ts';
import { CameraRow } from './CameraRow.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { FleetFilters, type FleetFilter } from './FleetFilters.ts';
import { formatCount, HealthChips } from './HealthChips.ts';

export interface CameraListEvents {
  pick: [cameraId: string];
}

/** Asks the server for a page (listCameras). */
export type CameraQuery = (query: RequestPayload<'listCameras'>) => Promise<CameraPage>;

export const PAGE_SIZE = 200;
/** Load the next page when the operator scrolls this close to the end of the list. */
const SCROLL_MARGIN_PX = 600;
/** After health events, the counts are asked again at most this often. */
const COUNTS_REFRESH_MS = 3000;
/** Events newer than a request are applied over its answer; older ones are forgotten after this long. */
const RECENT_EVENT_MS = 60_000;

interface Recent<T> {
  value: T;
  /** performance.now() when the event arrived. */
  at: number;
}

export class CameraList extends Emitter<CameraListEvents> {
  readonly #filters = new FleetFilters();
  readonly #chips = new HealthChips();
  readonly #summary: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #more: HTMLButtonElement;
  readonly #scroller: HTMLElement;
  readonly #rows = new Map<string, CameraRow>();
  /** Names of every camera seen, for the wall's tiles (they outlive the page they came from). */
  readonly #names = new Map<string, string>();
  readonly #recentStatus = new Map<string, Recent<CameraStatusMessage>>();
  readonly #recentHealth = new Map<string, Recent<CameraHealth>>();
  #filter: FleetFilter = {};
  /** Bumped at every new filter (and reload): answers of an older generation are dropped. */
  #generation = 0;
  /** The rows' generation, once its first page has arrived. */
  #shownGeneration = -1;
  #total = 0;
  /** How far the server's list has been read (the next page's offset). */
  #offset = 0;
  /** The server gave a short page: nothing more to read for this filter. */
  #exhausted = false;
  #loading = false;
  #loadingMore = false;
  #error: string | undefined;
  #countsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    container: HTMLElement,
    private readonly query: CameraQuery,
  ) {
    super();
    this.#summary = element('div', { className: 'camera-count', attrs: { id: 'camera-summary', role: 'status', 'aria-live': 'polite' } });
    this.#list = element('ul', { className: 'camera-list', attrs: { id: 'camera-list', role: 'list' } });
    this.#more = element('button', { className: 'camera-more', attrs: { type: 'button' } });
    this.#more.hidden = true;
    const scroller = element('div', { className: 'camera-scroller' }, [this.#list, this.#more]);
    container.replaceChildren(this.#filters.el, this.#chips.el, this.#summary, scroller);
    this.#renderSummary();

    this.#filters.on('change', (filter) => this.#setFilter(filter));
    this.#chips.on('pick', (health) => this.#filters.setHealth(this.#filter.health === health ? undefined : health));
    this.#list.addEventListener('click', (event) => {
      const item = (event.target as Element | null)?.closest<HTMLElement>('[data-camera-id]');
      const id = item?.dataset.cameraId;
      if (id) this.emit('pick', id);
    });
    this.#more.addEventListener('click', () => void this.#loadMore());
    scroller.addEventListener('scroll', () => {
      if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - SCROLL_MARGIN_PX) void this.#loadMore();
    }, { passive: true });
    this.#scroller = scroller;
  }

  /** The municipalities of the cameras this user may see (from the last page read). */
  municipalities(): readonly string[] {
    return this.#filters.municipalities;
  }

  /** The loaded rows' camera ids, in order. */
  get ids(): string[] {
    return [...this.#rows.keys()];
  }

  name(cameraId: string): string | undefined {
    return this.#names.get(cameraId);
  }

  has(cameraId: string): boolean {
    return this.#rows.has(cameraId);
  }

  /**
   * Asks for the first page of the current filter and shows it (at connection). Resolves with the
   * page even if a newer filter has replaced it meanwhile; rejects if the request fails.
   */
  async reload(): Promise<CameraPage> {
    const generation = ++this.#generation;
    const sentAt = performance.now();
    const filter = this.#filter;
    this.#loading = true;
    this.#loadingMore = false;
    this.#renderSummary();
    let page: CameraPage;
    try {
      page = await this.query({ ...filter, offset: 0, limit: PAGE_SIZE });
    } catch (error) {
      if (generation === this.#generation) {
        this.#loading = false;
        this.#error = `Could not load the cameras: ${error instanceof Error ? error.message : String(error)}`;
        this.#renderSummary();
      }
      throw error;
    }
    if (generation !== this.#generation) return page;
    this.#loading = false;
    this.#error = undefined;
    this.#shownGeneration = generation;
    this.#rows.clear();
    this.#offset = 0;
    this.#exhausted = false;
    this.#list.replaceChildren(...this.#accept(page, sentAt));
    if (page.cameras.length < PAGE_SIZE) this.#exhausted = true;
    this.#scroller.scrollTop = 0;
    this.#afterPage();
    return page;
  }

  /** A cameraState event. */
  update(status: CameraStatusMessage): void {
    this.#recentStatus.set(status.cameraId, { value: status, at: performance.now() });
    this.#rows.get(status.cameraId)?.setStatus(status);
  }

  /** A cameraHealth event: the row now, the counts soon (one cheap query, throttled). */
  updateHealth(event: { cameraId: string; health: CameraHealth }): void {
    this.#recentHealth.set(event.cameraId, { value: event.health, at: performance.now() });
    this.#rows.get(event.cameraId)?.setHealth(event.health);
    this.#scheduleCountsRefresh();
  }

  /**
   * Finds the names of cameras not loaded in the list (a wall restored from an earlier session):
   * one small search per unknown code. Resolves true when a name was learned.
   */
  async resolveNames(cameraIds: Array<string | undefined>): Promise<boolean> {
    const unknown = [...new Set(cameraIds)].filter((id): id is string => id !== undefined && id.length > 0 && id.length <= 100 && !this.#names.has(id));
    const found = await Promise.all(
      unknown.map(async (id) => {
        try {
          const page = await this.query({ q: id, limit: 100 });
          const camera = page.cameras.find((c) => c.id === id);
          if (camera) this.#names.set(camera.id, camera.name);
          return camera !== undefined;
        } catch {
          return false;
        }
      }),
    );
    return found.includes(true);
  }

  /**
   * Whether each camera is in the user's list now (whatever the filter): one small search per
   * code. true: listed; false: not listed; undefined: could not tell (request failed, or too many
   * cameras matched the code to be sure).
   */
  async accessible(cameraIds: string[]): Promise<Map<string, boolean | undefined>> {
    const limit = 200;
    const ids = [...new Set(cameraIds)].filter((id) => id.length > 0 && id.length <= 100);
    const answers = await Promise.all(
      ids.map(async (id): Promise<[string, boolean | undefined]> => {
        try {
          const page = await this.query({ q: id, limit });
          const camera = page.cameras.find((c) => c.id === id);
          if (camera) {
            this.#names.set(camera.id, camera.name);
            return [id, true];
          }
          return [id, page.cameras.length < limit ? false : undefined];
        } catch {
          return [id, undefined];
        }
      }),
    );
    return new Map(answers);
  }

  #setFilter(filter: FleetFilter): void {
    this.#filter = filter;
    this.#chips.setActive(filter.health);
    this.reload().catch((error: unknown) => console.warn('listing cameras failed', error));
  }

  async #loadMore(): Promise<void> {
    if (this.#loading || this.#loadingMore || this.#shownGeneration !== this.#generation || !this.#hasMore) return;
    const generation = this.#generation;
    const sentAt = performance.now();
    this.#loadingMore = true;
    this.#error = undefined;
    this.#renderSummary();
    try {
      const page = await this.query({ ...this.#filter, offset: this.#offset, limit: PAGE_SIZE });
      if (generation !== this.#generation) return;
      this.#loadingMore = false;
      this.#list.append(...this.#accept(page, sentAt));
      if (page.cameras.length < PAGE_SIZE) this.#exhausted = true;
      this.#afterPage();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#loadingMore = false;
      this.#error = `Could not load more: ${error instanceof Error ? error.message : String(error)}`;
      this.#renderSummary();
    }
  }

  /** Takes a page in: counts, municipalities, total; returns the new rows (events since the request applied). */
  #accept(page: CameraPage, sentAt: number): HTMLLIElement[] {
    this.#pruneRecent();
    this.#total = page.total;
    this.#offset += page.cameras.length;
    this.#chips.setCounts(page.healthCounts);
    this.#filters.setMunicipalities(page.municipalities);
    const items: HTMLLIElement[] = [];
    for (const summary of page.cameras) {
      this.#names.set(summary.id, summary.name);
      // With a changing fleet, pages read by offset may overlap: a camera is shown once.
      if (this.#rows.has(summary.id)) continue;
      const row = new CameraRow(this.#withRecentEvents(summary, sentAt));
      this.#rows.set(summary.id, row);
      items.push(row.el);
    }
    return items;
  }

  #withRecentEvents(summary: CameraSummary, sentAt: number): CameraSummary {
    const status = this.#recentStatus.get(summary.id);
    const health = this.#recentHealth.get(summary.id);
    return {
      ...summary,
      ...(status && status.at >= sentAt && { status: status.value }),
      ...(health && health.at >= sentAt && { health: health.value }),
    };
  }

  get #hasMore(): boolean {
    return !this.#exhausted && this.#offset < this.#total;
  }

  #afterPage(): void {
    this.#renderSummary();
    // On a tall screen the first page may not fill the list: no scroll will ever come, so read on
    // (only while the list is on screen: a hidden one has no height and would read the whole fleet).
    const { scrollHeight, clientHeight } = this.#scroller;
    if (clientHeight > 0 && scrollHeight <= clientHeight + SCROLL_MARGIN_PX) void this.#loadMore();
  }

  #scheduleCountsRefresh(): void {
    if (this.#countsTimer !== undefined) return;
    this.#countsTimer = setTimeout(() => {
      this.#countsTimer = undefined;
      const generation = this.#generation;
      this.query({ ...this.#filter, offset: 0, limit: 1 })
        .then((page) => {
          if (generation !== this.#generation || this.#loading) return;
          this.#chips.setCounts(page.healthCounts);
          this.#total = page.total;
          this.#renderSummary();
        })
        .catch(() => undefined);
    }, COUNTS_REFRESH_MS);
  }

  #pruneRecent(): void {
    const before = performance.now() - RECENT_EVENT_MS;
    for (const recent of [this.#recentStatus, this.#recentHealth] as Array<Map<string, Recent<unknown>>>) {
      for (const [id, entry] of recent) if (entry.at < before) recent.delete(id);
    }
  }

  #renderSummary(): void {
    const shown = this.#rows.size;
    const total = this.#total;
    const loaded = this.#shownGeneration === this.#generation;
    const summary = this.#summary;
    summary.dataset.total = String(total);
    summary.dataset.shown = String(shown);
    summary.dataset.loading = String(this.#loading || this.#loadingMore);
    summary.dataset.filter = JSON.stringify(this.#filter);
    summary.dataset.ready = String(loaded && !this.#loading);
    this.#list.setAttribute('aria-busy', String(this.#loading));
    this.#list.classList.toggle('stale', this.#loading && this.#shownGeneration >= 0);
    summary.classList.toggle('error', this.#error !== undefined);

    let text: string;
    if (this.#error) text = this.#error;
    else if (this.#shownGeneration < 0) text = 'Loading cameras…';
    else if (this.#loading) text = 'Searching…';
    else if (total === 0) text = Object.keys(this.#filter).length > 0 ? 'No camera matches these filters' : 'No cameras';
    else if (shown >= total) text = `${formatCount(total)} camera${total === 1 ? '' : 's'}`;
    else text = `Showing ${formatCount(shown)} of ${formatCount(total)} cameras`;
    summary.textContent = text;

    this.#more.hidden = !(loaded && !this.#loading && this.#hasMore);
    this.#more.disabled = this.#loadingMore;
    this.#more.textContent = this.#loadingMore ? 'Loading…' : `Load ${formatCount(Math.min(PAGE_SIZE, total - this.#offset))} more`;
  }
}
