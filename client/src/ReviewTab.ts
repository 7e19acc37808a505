/**
 * The sidebar's "Review" tab (issue 26): admins only. The queue of citizen camera enrolments
 * waiting for review, with the number pending on the tab (`#review-count`). The list is reloaded
 * when the tab is opened, every 30 s while it is open, after every action, and after a
 * reconnection; while the tab is closed, every 2 minutes (the badge stays about right).
 */
import type { ReviewApi, ReviewItem } from './ReviewApi.ts';
import { ReviewPanel } from './ReviewPanel.ts';
import type { SidebarTabs } from './SidebarTabs.ts';

/** What the review queue does with the rest of the console. */
export interface ReviewTarget {
  /** Shows this pending camera on the selected tile (or the first free one), consumed as a review. */
  preview(cameraCode: string): void;
  /** The camera was approved: a tile reviewing it goes on as an ordinary one. */
  approved(cameraCode: string): void;
  /** The camera was rejected: a tile reviewing it stops and says so. */
  rejected(cameraCode: string, message: string): void;
  /** The municipalities the console knows (the camera list's filter). */
  municipalities(): readonly string[];
}

const ADMIN_ROLE = 'admin';
const OPEN_REFRESH_MS = 30_000;
const CLOSED_REFRESH_MS = 120_000;

export class ReviewTab {
  #panel: ReviewPanel | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastLoad = 0;
  readonly #offSelected: () => void;

  constructor(
    private readonly container: HTMLElement,
    private readonly tabs: SidebarTabs,
    private readonly tabId: string,
    private readonly countElement: HTMLElement,
    private readonly api: ReviewApi,
    private readonly target: ReviewTarget,
  ) {
    tabs.setTab(tabId, false);
    this.#setCount(0);
    this.#offSelected = tabs.on('selected', (id) => {
      if (id === this.tabId) void this.#refresh();
    });
  }

  /** Who is signed in (GET /api/me, then rightsChanged): the tab is for admins. */
  setUser(role: string): void {
    if (role !== ADMIN_ROLE) {
      this.#closePanel();
      return;
    }
    if (this.#panel) return;
    const panel = new ReviewPanel(this.api);
    panel.on('count', (total) => this.#setCount(total));
    panel.on('preview', (item) => this.target.preview(item.cameraCode));
    panel.on('decided', (item, decision) => this.#decided(item, decision));
    this.#panel = panel;
    this.container.replaceChildren(panel.el);
    this.tabs.setTab(this.tabId, true);
    this.#timer = setInterval(() => this.#tick(), OPEN_REFRESH_MS);
    void this.#refresh();
  }

  /** Connected again: an enrolment may have come in meanwhile. */
  reconnected(): void {
    void this.#refresh();
  }

  /** A pending camera's name (for the tile reviewing it). */
  cameraName(code: string): string | undefined {
    return this.#panel?.cameraName(code);
  }

  close(): void {
    this.#offSelected();
    this.#closePanel();
  }

  get #open(): boolean {
    return this.tabs.selected === this.tabId;
  }

  #tick(): void {
    const panel = this.#panel;
    if (!panel || document.visibilityState === 'hidden') return;
    if (this.#open || performance.now() - this.#lastLoad >= CLOSED_REFRESH_MS) void this.#refresh();
    else panel.tick();
  }

  async #refresh(): Promise<void> {
    const panel = this.#panel;
    if (!panel) return;
    this.#lastLoad = performance.now();
    panel.setMunicipalities(this.target.municipalities());
    await panel.refresh();
  }

  #decided(item: ReviewItem, decision: 'approved' | 'rejected'): void {
    if (decision === 'approved') this.target.approved(item.cameraCode);
    else this.target.rejected(item.cameraCode, item.statusReason ? `Enrolment rejected: ${item.statusReason}` : 'Enrolment rejected');
    this.#lastLoad = performance.now();
  }

  #setCount(total: number): void {
    const el = this.countElement;
    el.textContent = String(total);
    el.dataset.count = String(total);
    el.hidden = total === 0;
    el.title = `${total} waiting for review`;
  }

  #closePanel(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#panel?.close();
    this.#panel = undefined;
    this.container.replaceChildren();
    this.tabs.setTab(this.tabId, false);
    this.#setCount(0);
  }
}
