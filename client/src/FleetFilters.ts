/**
 * The fleet list's filter controls: search by name or code (debounced while typing), area,
 * health and municipality (its options come from the server's answer). Every change is reported
 * once as the whole filter; the list asks the server for it.
 */
import type { HealthFilter, RequestPayload } from '../../server/signalling/protocol.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { HEALTH_LABEL, HEALTH_ORDER, isHealth } from './health.ts';

/** What the server filters on (the paging fields aside). */
export type FleetFilter = Omit<RequestPayload<'listCameras'>, 'offset' | 'limit'>;

export interface FleetFiltersEvents {
  change: [filter: FleetFilter];
}

/** Typing pauses this long before the search is sent. */
export const SEARCH_DEBOUNCE_MS = 250;
/** The protocol's bound on `q`. */
const MAX_QUERY = 100;
const AREAS = ['agency', 'citizen'] as const;

export class FleetFilters extends Emitter<FleetFiltersEvents> {
  readonly el: HTMLDivElement;
  readonly #search: HTMLInputElement;
  readonly #area: HTMLSelectElement;
  readonly #health: HTMLSelectElement;
  readonly #municipality: HTMLSelectElement;
  readonly #clear: HTMLButtonElement;
  #municipalities: string[] = [];
  #debounce: ReturnType<typeof setTimeout> | undefined;
  /** The last filter reported, to report only real changes. */
  #reported = '{}';

  constructor() {
    super();
    this.#search = element('input', {
      className: 'camera-filter',
      attrs: {
        id: 'filter-q',
        type: 'search',
        placeholder: 'Search name or code',
        'aria-label': 'Search cameras by name or code',
        autocomplete: 'off',
        spellcheck: 'false',
        maxlength: String(MAX_QUERY),
      },
    });
    this.#area = select('filter-area', 'Area', [
      ['', 'All areas'],
      ...AREAS.map((area): [string, string] => [area, capitalise(area)]),
    ]);
    this.#health = select('filter-health', 'Health', [
      ['', 'Any health'],
      ...HEALTH_ORDER.map((health): [string, string] => [health, capitalise(HEALTH_LABEL[health])]),
    ]);
    this.#municipality = select('filter-municipality', 'Municipality', [['', 'All municipalities']]);
    this.#clear = element('button', { className: 'filter-clear', text: 'Clear', attrs: { id: 'filter-clear', type: 'button', title: 'Clear every filter' } });
    this.#clear.hidden = true;
    this.el = element('div', { className: 'fleet-filters' }, [
      this.#search,
      element('div', { className: 'filter-row' }, [this.#area, this.#health]),
      element('div', { className: 'filter-row' }, [this.#municipality, this.#clear]),
    ]);

    this.#search.addEventListener('input', () => {
      this.#cancelDebounce();
      this.#debounce = setTimeout(() => {
        this.#debounce = undefined;
        this.#report();
      }, SEARCH_DEBOUNCE_MS);
    });
    this.#search.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') this.#report();
    });
    for (const control of [this.#area, this.#health, this.#municipality]) control.addEventListener('change', () => this.#report());
    this.#clear.addEventListener('click', () => {
      this.#search.value = '';
      this.#area.value = '';
      this.#health.value = '';
      this.#municipality.value = '';
      this.#report();
    });
  }

  get value(): FleetFilter {
    const q = this.#search.value.trim().slice(0, MAX_QUERY);
    const area = this.#area.value;
    const health = this.#health.value;
    const municipality = this.#municipality.value;
    return {
      ...(q && { q }),
      ...((area === 'agency' || area === 'citizen') && { area }),
      ...(municipality && { municipality }),
      ...(isHealth(health) && { health }),
    };
  }

  /** Sets the health filter (a chip was clicked) and reports the change. */
  setHealth(health: HealthFilter | undefined): void {
    this.#health.value = health ?? '';
    this.#report();
  }

  /** The municipalities offered in the filter. */
  get municipalities(): readonly string[] {
    return this.#municipalities;
  }

  /** The municipalities the operator may filter on; the current choice stays even if it is gone. */
  setMunicipalities(municipalities: string[]): void {
    const current = this.#municipality.value;
    const list = current && !municipalities.includes(current) ? [...municipalities, current] : municipalities;
    if (sameList(list, this.#municipalities)) return;
    this.#municipalities = [...list];
    const options = [option('', 'All municipalities'), ...list.map((name) => option(name, name))];
    this.#municipality.replaceChildren(...options);
    this.#municipality.value = current;
  }

  #report(): void {
    this.#cancelDebounce();
    const filter = this.value;
    this.#clear.hidden = Object.keys(filter).length === 0;
    const key = JSON.stringify(filter);
    if (key === this.#reported) return;
    this.#reported = key;
    this.emit('change', filter);
  }

  #cancelDebounce(): void {
    if (this.#debounce === undefined) return;
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
  }
}

function select(id: string, label: string, options: Array<[value: string, text: string]>): HTMLSelectElement {
  return element(
    'select',
    { className: 'filter-select', attrs: { id, 'aria-label': label } },
    options.map(([value, text]) => option(value, text)),
  );
}

function option(value: string, text: string): HTMLOptionElement {
  const el = element('option', { text });
  el.value = value;
  return el;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
