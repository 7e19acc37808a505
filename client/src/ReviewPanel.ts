/**
 * The review queue's list (issue 26): the pending citizen enrolments, oldest first, one ReviewCard
 * each. A reload updates the cards in place (what the admin is typing stays, and the focus too);
 * an approved or rejected enrolment leaves the list at once and the list is reloaded.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { button, replaceKeepingFocus, uniqueId } from './forms.ts';
import { errorText } from './IncidentsApi.ts';
import type { ReviewApi, ReviewItem } from './ReviewApi.ts';
import { ReviewCard } from './ReviewCard.ts';

export interface ReviewPanelEvents {
  /** The number of pending enrolments changed (the tab's badge). */
  count: [total: number];
  /** Show this pending camera live on the wall (as a review). */
  preview: [item: ReviewItem];
  /** An enrolment was approved or rejected here. */
  decided: [item: ReviewItem, decision: 'approved' | 'rejected'];
}

/** Cards shown at most (the server's limit is 200). */
const LIST_LIMIT = 100;
/** How long a note such as "ENR-… approved" stays under the toolbar. */
const NOTICE_MS = 15_000;

export class ReviewPanel extends Emitter<ReviewPanelEvents> {
  readonly el: HTMLDivElement;
  readonly #summary: HTMLParagraphElement;
  readonly #notice: HTMLParagraphElement;
  readonly #list: HTMLUListElement;
  readonly #datalist: HTMLDataListElement;
  readonly #cards = new Map<string, ReviewCard>();
  #municipalities: string[] = [];
  #total = 0;
  #loaded = false;
  #loading = false;
  #error: string | undefined;
  #generation = 0;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(private readonly api: ReviewApi) {
    super();
    const reload = button('Refresh', { 'data-action': 'refresh' });
    reload.addEventListener('click', () => void this.refresh());
    this.#summary = element('p', { className: 'incident-summary review-summary', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.#notice = element('p', { className: 'review-notice', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.#notice.hidden = true;
    this.#datalist = element('datalist', { attrs: { id: uniqueId('review-municipalities') } });
    this.#list = element('ul', { className: 'review-list', attrs: { 'aria-label': 'Pending enrolments, oldest first' } });
    this.el = element('div', { className: 'incidents-panel review-panel' }, [
      element('div', { className: 'incidents-toolbar' }, [element('h2', { className: 'review-heading', text: 'Citizen cameras to review' }), reload]),
      this.#summary,
      this.#notice,
      this.#datalist,
      element('div', { className: 'incident-scroller' }, [this.#list]),
    ]);
    this.#renderSummary();
  }

  get total(): number {
    return this.#total;
  }

  /** The municipalities the console knows (suggested when approving). */
  setMunicipalities(municipalities: readonly string[]): void {
    const list = [...new Set(municipalities.filter((name) => name && name !== 'unassigned'))].sort((a, b) => a.localeCompare(b));
    if (list.join('\n') === this.#municipalities.join('\n')) return;
    this.#municipalities = list;
    this.#datalist.replaceChildren(...list.map((name) => element('option', { attrs: { value: name } })));
  }

  /** The pending camera's name, for a tile reviewing it. */
  cameraName(code: string): string | undefined {
    for (const card of this.#cards.values()) if (card.item.cameraCode === code) return card.item.cameraName;
    return undefined;
  }

  /** Reloads the pending enrolments. */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    this.#loading = true;
    this.#renderSummary();
    try {
      const page = await this.api.pending(LIST_LIMIT);
      if (generation !== this.#generation || this.#closed) return;
      const items = Array.isArray(page.items) ? page.items.filter((item) => item.status === 'pending') : [];
      this.#error = undefined;
      this.#loaded = true;
      this.#show(items, typeof page.total === 'number' ? page.total : items.length);
    } catch (error) {
      if (generation !== this.#generation || this.#closed) return;
      this.#error = errorText(error);
    } finally {
      if (generation === this.#generation) this.#loading = false;
      if (!this.#closed) this.#renderSummary();
    }
  }

  /** Redraws the cards' times. */
  tick(): void {
    const now = Date.now();
    for (const card of this.#cards.values()) card.tick(now);
  }

  close(): void {
    this.#closed = true;
    this.#generation++;
    if (this.#noticeTimer !== undefined) clearTimeout(this.#noticeTimer);
    for (const card of this.#cards.values()) card.close();
    this.#cards.clear();
    this.removeAllListeners();
  }

  #show(items: ReviewItem[], total: number): void {
    const now = Date.now();
    const wanted = new Set(items.map((item) => item.reference));
    for (const [reference, card] of this.#cards) {
      if (wanted.has(reference)) continue;
      card.close();
      this.#cards.delete(reference);
    }
    const order: HTMLLIElement[] = [];
    for (const item of items) {
      let card = this.#cards.get(item.reference);
      if (card) card.update(item, now);
      else card = this.#card(item);
      order.push(card.el);
    }
    const current = Array.from(this.#list.children);
    // Nodes are moved only when the order changed: moving them would take the focus from what the admin types.
    if (current.length !== order.length || current.some((child, i) => child !== order[i])) replaceKeepingFocus(this.#list, order);
    this.#setTotal(total);
  }

  #card(item: ReviewItem): ReviewCard {
    const card = new ReviewCard(this.api, item, this.#datalist.id);
    card.on('preview', (shown) => this.emit('preview', shown));
    card.on('stale', () => void this.refresh());
    card.on('decided', (decided, decision) => this.#decided(card, decided, decision));
    this.#cards.set(item.reference, card);
    return card;
  }

  #decided(card: ReviewCard, item: ReviewItem, decision: 'approved' | 'rejected'): void {
    const reference = card.item.reference;
    const next = card.el.nextElementSibling ?? card.el.previousElementSibling;
    const hadFocus = card.el.contains(document.activeElement);
    card.close();
    card.el.remove();
    this.#cards.delete(reference);
    this.#setTotal(Math.max(0, this.#total - 1));
    this.#say(decision === 'approved' ? `${reference} approved: ${item.cameraCode} is in ${item.municipality}.` : `${reference} rejected.`);
    // The keyboard user goes on with the next card (or the list's toolbar when it was the last).
    if (hadFocus) (next?.querySelector<HTMLElement>('[data-action="preview"]') ?? this.el.querySelector<HTMLElement>('[data-action="refresh"]'))?.focus();
    this.emit('decided', item, decision);
    this.#renderSummary();
    void this.refresh();
  }

  #setTotal(total: number): void {
    if (total === this.#total && this.#loaded) {
      this.#renderSummary();
      return;
    }
    this.#total = total;
    this.emit('count', total);
  }

  #say(text: string): void {
    this.#notice.textContent = text;
    this.#notice.hidden = false;
    if (this.#noticeTimer !== undefined) clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => {
      this.#noticeTimer = undefined;
      this.#notice.hidden = true;
      this.#notice.textContent = '';
    }, NOTICE_MS);
  }

  #renderSummary(): void {
    const summary = this.#summary;
    // Not in the live summary: a reload every 30 s would be read out each time.
    this.#list.setAttribute('aria-busy', String(this.#loading));
    summary.classList.toggle('error', this.#error !== undefined);
    if (this.#error !== undefined) {
      summary.textContent = `Could not load the enrolments: ${this.#error}`;
      return;
    }
    if (!this.#loaded) {
      summary.textContent = 'Loading…';
      return;
    }
    const shown = this.#cards.size;
    if (this.#total === 0) summary.textContent = 'No enrolments waiting for review.';
    else if (shown < this.#total) summary.textContent = `${this.#total} waiting for review (oldest ${shown} shown)`;
    else summary.textContent = `${this.#total} waiting for review, oldest first`;
  }
}
