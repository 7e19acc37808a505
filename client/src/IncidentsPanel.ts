/**
 * The operator's (and admin's) incidents panel in the sidebar: the open incidents in their scope,
 * each a card that expands to its cameras and grants; a form to open an incident; the break-glass
 * form. Reloaded when the server says incidents changed (debounced), after the operator's own
 * changes, and when a grant's time runs out; the grants' time left is redrawn every second.
 */
import { BreakGlassForm } from './BreakGlassForm.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { button, disclose } from './forms.ts';
import { IncidentCard } from './IncidentCard.ts';
import { errorText, type IncidentsApi, type IncidentView, type Investigator } from './IncidentsApi.ts';
import { OpenIncidentForm } from './OpenIncidentForm.ts';

export interface IncidentsPanelEvents {
  /** Put this camera on the wall (the selected tile). */
  pick: [code: string];
  /** Put these cameras on the wall. */
  fill: [codes: string[]];
  /** The list was loaded: camera names may be new (the wall's tiles show them). */
  loaded: [];
}

/** What browser tests read (window.c5.incidents()). */
export interface IncidentSummary {
  id: string;
  title: string;
  status: 'open' | 'closed';
  cameras: string[];
}

const LIST_LIMIT = 200;
const REFRESH_DEBOUNCE_MS = 250;
const TICK_MS = 1000;
/** A grant past its end for this long without news from the server: reload. */
const OVERDUE_MS = 3000;
const OVERDUE_RELOAD_GAP_MS = 10_000;
/** How long a note such as "Closed …" stays beside the count. */
const NOTICE_MS = 10_000;

export class IncidentsPanel extends Emitter<IncidentsPanelEvents> {
  readonly el: HTMLDivElement;
  readonly #summary: HTMLParagraphElement;
  readonly #list: HTMLUListElement;
  readonly #cards = new Map<string, IncidentCard>();
  readonly #openForm: OpenIncidentForm;
  readonly #openToggle: HTMLButtonElement;
  /** A note shown with the count (e.g. which incident was just closed). */
  #notice: { text: string; until: number } | undefined;
  readonly #tickTimer: ReturnType<typeof setInterval>;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #loaded = false;
  #loading = false;
  #error: string | undefined;
  #total = 0;
  #lastOverdueReload = 0;
  #investigators: Promise<Investigator[]> | undefined;
  #closed = false;

  /** `breakGlass`: offer the break-glass form (operators; admins see every camera without it). */
  constructor(
    private readonly api: IncidentsApi,
    options: { breakGlass: boolean },
  ) {
    super();
    this.#openForm = new OpenIncidentForm(api);
    this.#openForm.el.hidden = true;
    const openToggle = button('New incident', { 'data-action': 'new-incident' }, 'form-button primary');
    disclose(openToggle, this.#openForm.el);
    this.#openToggle = openToggle;
    this.#openForm.on('opened', (incident) => {
      this.#openForm.el.hidden = true;
      openToggle.setAttribute('aria-expanded', 'false');
      const card = this.#card(incident);
      card.setExpanded(true);
      this.#render();
      card.el.querySelector<HTMLElement>('.incident-toggle')?.focus();
      this.scheduleRefresh();
    });

    const breakGlass = new BreakGlassForm(api);
    breakGlass.el.hidden = true;
    const breakGlassToggle = button('Break glass…', { 'data-action': 'break-glass' }, 'form-button');
    disclose(breakGlassToggle, breakGlass.el);
    breakGlass.on('granted', (view) => this.emit('pick', view.camera));
    breakGlassToggle.hidden = !options.breakGlass;

    const reload = button('Refresh', { 'data-action': 'refresh' }, 'form-button');
    reload.addEventListener('click', () => void this.refresh());

    this.#summary = element('p', { className: 'incident-summary', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.#list = element('ul', { className: 'incident-list', attrs: { 'aria-label': 'Open incidents' } });
    this.el = element('div', { className: 'incidents-panel' }, [
      element('div', { className: 'incidents-toolbar' }, [openToggle, breakGlassToggle, reload]),
      this.#openForm.el,
      breakGlass.el,
      this.#summary,
      element('div', { className: 'incident-scroller' }, [this.#list]),
    ]);
    this.#tickTimer = setInterval(() => this.#tick(), TICK_MS);
    this.#render();
  }

  /** The operator's municipalities, suggested in the new-incident form. */
  setMunicipalities(municipalities: string[]): void {
    this.#openForm.setMunicipalities(municipalities);
  }

  /** Reloads the open incidents (and the grants of the expanded ones). */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    this.#cancelScheduled();
    const generation = ++this.#generation;
    this.#loading = true;
    this.#render();
    try {
      const page = await this.api.listIncidents({ status: 'open', limit: LIST_LIMIT });
      if (generation !== this.#generation || this.#closed) return;
      const items = Array.isArray(page.items) ? page.items : [];
      this.#total = typeof page.total === 'number' ? page.total : items.length;
      const seen = new Set<string>();
      for (const incident of items) {
        seen.add(incident.id);
        const card = this.#card(incident);
        card.update(incident);
        void card.refreshDetail();
      }
      for (const id of [...this.#cards.keys()]) if (!seen.has(id)) this.#cards.delete(id);
      this.#error = undefined;
      this.#loaded = true;
      this.emit('loaded');
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#error = `Could not load the incidents: ${errorText(error)}`;
    } finally {
      if (generation === this.#generation) {
        this.#loading = false;
        this.#render();
      }
    }
  }

  /** The server said incidents changed: reload soon (several events make one reload). */
  scheduleRefresh(): void {
    if (this.#closed || this.#refreshTimer !== undefined) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.refresh();
    }, REFRESH_DEBOUNCE_MS);
  }

  incidents(): IncidentSummary[] {
    return [...this.#cards.values()].map(({ incident }) => ({ id: incident.id, title: incident.title, status: incident.status, cameras: incident.cameras.map((camera) => camera.code) }));
  }

  /** A camera's name, if it is attached to a listed incident. */
  cameraName(code: string): string | undefined {
    for (const card of this.#cards.values()) {
      const name = card.cameraName(code);
      if (name !== undefined) return name;
    }
    return undefined;
  }

  close(): void {
    this.#closed = true;
    this.#cancelScheduled();
    clearInterval(this.#tickTimer);
    this.removeAllListeners();
  }

  #card(incident: IncidentView): IncidentCard {
    let card = this.#cards.get(incident.id);
    if (card) return card;
    card = new IncidentCard(incident, this.api, () => this.#loadInvestigators());
    card.on('pick', (code) => this.emit('pick', code));
    card.on('fill', (codes) => this.emit('fill', codes));
    card.on('changed', () => this.scheduleRefresh());
    card.on('closed', (closed) => {
      // Closed incidents leave the list: the focus goes to the next one (or the toolbar).
      this.#cards.delete(closed.id);
      this.#notice = { text: `Closed "${closed.title}".`, until: Date.now() + NOTICE_MS };
      this.#render();
      (this.#list.querySelector<HTMLElement>('.incident-toggle') ?? this.#openToggle).focus();
      this.scheduleRefresh();
    });
    this.#cards.set(incident.id, card);
    return card;
  }

  /** The investigators this operator may grant: asked once, again after a failure. */
  #loadInvestigators(): Promise<Investigator[]> {
    if (!this.#investigators) {
      this.#investigators = this.api.investigators().then(
        (answer) => (Array.isArray(answer.items) ? answer.items : []),
        (error: unknown) => {
          this.#investigators = undefined;
          throw error;
        },
      );
    }
    return this.#investigators;
  }

  #tick(): void {
    const now = Date.now();
    let overdue = false;
    for (const card of this.#cards.values()) {
      card.tick(now);
      if (card.expanded) overdue ||= card.hasOverdueGrant(now, OVERDUE_MS);
    }
    if (overdue && now - this.#lastOverdueReload > OVERDUE_RELOAD_GAP_MS) {
      this.#lastOverdueReload = now;
      this.scheduleRefresh();
    }
  }

  #cancelScheduled(): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #render(): void {
    // Newest first.
    const cards = [...this.#cards.values()].sort((a, b) => b.incident.openedAt.localeCompare(a.incident.openedAt));
    const same = cards.length === this.#list.children.length && cards.every((card, i) => this.#list.children[i] === card.el);
    if (!same) this.#list.replaceChildren(...cards.map((card) => card.el));
    const count = this.#cards.size;
    let text: string;
    if (this.#error) text = this.#error;
    else if (!this.#loaded) text = 'Loading incidents…';
    else if (count === 0) text = 'No open incident';
    else text = `${count} open incident${count === 1 ? '' : 's'}${this.#total > count ? ` (of ${this.#total})` : ''}`;
    if (this.#notice && this.#notice.until < Date.now()) this.#notice = undefined;
    if (this.#notice && !this.#error) text = `${this.#notice.text} ${text}`;
    this.#summary.textContent = text;
    this.#summary.classList.toggle('error', this.#error !== undefined);
    this.#summary.dataset.ready = String(this.#loaded && !this.#loading);
    this.#list.setAttribute('aria-busy', String(this.#loading));
  }
}
