/**
 * The investigator's "My incidents": each live grant with its incident, its cameras and the time
 * left, a warning (seen and announced) when 10 minutes or less remain, and "Fill the wall" with
 * every granted camera. Reloaded when the server says the investigator's grants changed
 * (grantsChanged), and when a grant's time runs out.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { button } from './forms.ts';
import { errorText, type IncidentsApi, type MyGrant } from './IncidentsApi.ts';
import { MyGrantCard } from './MyGrantCard.ts';
import { WARNING_MS } from './timeLeft.ts';

export interface MyIncidentsEvents {
  pick: [code: string];
  fill: [codes: string[]];
}

/** What browser tests read (window.c5.myGrants()). */
export interface MyGrantSummary {
  grantId: string;
  incidentId: string;
  cameras: string[];
  msLeft: number;
}

const REFRESH_DEBOUNCE_MS = 250;
const TICK_MS = 1000;
/** A grant past its end for this long without news from the server: reload. */
const OVERDUE_MS = 2000;
const OVERDUE_RELOAD_GAP_MS = 10_000;

/** "17:45" for an ISO time. */
function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export class MyIncidents extends Emitter<MyIncidentsEvents> {
  readonly el: HTMLDivElement;
  readonly #summary: HTMLParagraphElement;
  readonly #alert: HTMLParagraphElement;
  readonly #list: HTMLUListElement;
  readonly #fill: HTMLButtonElement;
  readonly #cards = new Map<string, MyGrantCard>();
  readonly #tickTimer: ReturnType<typeof setInterval>;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #loaded = false;
  #loading = false;
  #error: string | undefined;
  #lastOverdueReload = 0;
  #closed = false;
  /** Grants whose last-10-minutes warning was announced (an extension past it allows a new one). */
  readonly #warned = new Set<string>();
  #announce = false;

  constructor(
    private readonly api: IncidentsApi,
    private readonly cameraName: (code: string) => string | undefined,
  ) {
    super();
    this.#fill = button('Fill the wall', { 'data-action': 'fill-wall' }, 'form-button primary');
    this.#fill.addEventListener('click', () => this.emit('fill', this.cameras()));
    const reload = button('Refresh', { 'data-action': 'refresh' }, 'form-button');
    reload.addEventListener('click', () => void this.refresh());
    this.#summary = element('p', { className: 'incident-summary', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.#alert = element('p', { className: 'grant-alert', attrs: { role: 'alert' } });
    this.#alert.hidden = true;
    this.#list = element('ul', { className: 'incident-list', attrs: { 'aria-label': 'My incidents' } });
    this.el = element('div', { className: 'incidents-panel my-incidents' }, [
      element('div', { className: 'incidents-toolbar' }, [this.#fill, reload]),
      this.#summary,
      this.#alert,
      element('div', { className: 'incident-scroller' }, [this.#list]),
    ]);
    this.#tickTimer = setInterval(() => this.#tick(), TICK_MS);
    this.#render();
  }

  async refresh(): Promise<void> {
    if (this.#closed) return;
    this.#cancelScheduled();
    const generation = ++this.#generation;
    this.#loading = true;
    this.#render();
    try {
      const answer = await this.api.myGrants();
      if (generation !== this.#generation || this.#closed) return;
      const now = Date.now();
      const live = (Array.isArray(answer.items) ? answer.items : []).filter((mine) => mine.grant.live && mine.grant.status === 'active' && Date.parse(mine.grant.endsAt) > now);
      const seen = new Set<string>();
      for (const mine of live) {
        seen.add(mine.grant.id);
        this.#card(mine).update(mine);
      }
      for (const id of [...this.#cards.keys()]) if (!seen.has(id)) this.#cards.delete(id);
      // An extended grant out of its last 10 minutes may be warned about again later.
      for (const id of [...this.#warned]) if (!live.some((mine) => mine.grant.id === id && Date.parse(mine.grant.endsAt) - now <= WARNING_MS)) this.#warned.delete(id);
      this.#error = undefined;
      this.#loaded = true;
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#error = `Could not load your incidents: ${errorText(error)}`;
    } finally {
      if (generation === this.#generation) {
        this.#loading = false;
        this.#render();
      }
    }
  }

  /** grantsChanged: reload soon (several events make one reload). */
  scheduleRefresh(): void {
    if (this.#closed || this.#refreshTimer !== undefined) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.refresh();
    }, REFRESH_DEBOUNCE_MS);
  }

  /** Every camera of the live grants, each once, in the grants' order. */
  cameras(): string[] {
    return [...new Set(this.#sortedCards().flatMap((card) => card.mine.cameras))];
  }

  myGrants(): MyGrantSummary[] {
    const now = Date.now();
    return this.#sortedCards().map((card) => ({ grantId: card.mine.grant.id, incidentId: card.mine.incident.id, cameras: [...card.mine.cameras], msLeft: card.msLeft(now) }));
  }

  /** Camera names arrived (the camera list was loaded). */
  refreshNames(): void {
    for (const card of this.#cards.values()) card.refreshNames();
  }

  close(): void {
    this.#closed = true;
    this.#cancelScheduled();
    clearInterval(this.#tickTimer);
    this.removeAllListeners();
  }

  #card(mine: MyGrant): MyGrantCard {
    let card = this.#cards.get(mine.grant.id);
    if (card) return card;
    card = new MyGrantCard(mine, this.cameraName);
    card.on('pick', (code) => this.emit('pick', code));
    card.on('fill', (codes) => this.emit('fill', codes));
    this.#cards.set(mine.grant.id, card);
    return card;
  }

  /** Soonest to end first. */
  #sortedCards(): MyGrantCard[] {
    return [...this.#cards.values()].sort((a, b) => a.mine.grant.endsAt.localeCompare(b.mine.grant.endsAt));
  }

  #tick(): void {
    const now = Date.now();
    let overdue = false;
    const warnings: string[] = [];
    for (const card of this.#sortedCards()) {
      const level = card.tick(now);
      const { grant, incident } = card.mine;
      if (level === 'warning') {
        warnings.push(`Access to "${incident.title}" ends at ${clock(grant.endsAt)}.`);
        if (!this.#warned.has(grant.id)) {
          this.#warned.add(grant.id);
          this.#announce = true;
        }
      }
      if (level === 'ended' && Date.parse(grant.endsAt) + OVERDUE_MS < now) overdue = true;
    }
    // The alert is announced when a grant enters its last 10 minutes (role="alert" speaks on change),
    // and stays visible while one is there; the cards count down themselves.
    const text = warnings.join(' ');
    if (warnings.length === 0) this.#alert.hidden = true;
    else if (this.#announce || this.#alert.hidden || text !== this.#alert.textContent) {
      this.#announce = false;
      this.#alert.textContent = text;
      this.#alert.hidden = false;
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
    const cards = this.#sortedCards();
    const same = cards.length === this.#list.children.length && cards.every((card, i) => this.#list.children[i] === card.el);
    if (!same) this.#list.replaceChildren(...cards.map((card) => card.el));
    const count = cards.length;
    let text: string;
    if (this.#error) text = this.#error;
    else if (!this.#loaded) text = 'Loading your incidents…';
    else if (count === 0) text = 'No incident granted to you right now';
    else text = `${count} incident grant${count === 1 ? '' : 's'}, ${this.cameras().length} camera${this.cameras().length === 1 ? '' : 's'}`;
    this.#summary.textContent = text;
    this.#summary.classList.toggle('error', this.#error !== undefined);
    this.#summary.dataset.ready = String(this.#loaded && !this.#loading);
    this.#fill.disabled = this.cameras().length === 0;
    this.#list.setAttribute('aria-busy', String(this.#loading));
    this.#tick();
  }
}
