/**
 * The sidebar's tabs (Cameras, and Incidents or My incidents by role): buttons with role="tab",
 * each showing its panel (aria-controls). Click, Enter or Space picks a tab; the arrow keys, Home
 * and End move between the visible tabs (WAI-ARIA tabs pattern). With one visible tab the strip hides.
 * `selected` tells which tab's panel is shown now (a panel may load when it is opened).
 */
import { Emitter } from './Emitter.ts';

export interface SidebarTabsEvents {
  /** Another tab was selected (its panel is shown). */
  selected: [tabId: string];
}

export class SidebarTabs extends Emitter<SidebarTabsEvents> {
  readonly #tabs: HTMLButtonElement[];

  constructor(private readonly strip: HTMLElement) {
    super();
    this.#tabs = Array.from(strip.querySelectorAll<HTMLButtonElement>('button[role="tab"]'));
    strip.addEventListener('click', (event) => {
      const tab = (event.target as Element | null)?.closest<HTMLButtonElement>('button[role="tab"]');
      if (tab) this.select(tab.id);
    });
    strip.addEventListener('keydown', (event) => {
      const visible = this.#visible();
      const current = visible.findIndex((tab) => tab === document.activeElement);
      if (current < 0) return;
      let next: number | undefined;
      if (event.key === 'ArrowRight' || event.key === 'ArrowDown') next = (current + 1) % visible.length;
      else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') next = (current - 1 + visible.length) % visible.length;
      else if (event.key === 'Home') next = 0;
      else if (event.key === 'End') next = visible.length - 1;
      const tab = next === undefined ? undefined : visible[next];
      if (!tab) return;
      event.preventDefault();
      this.select(tab.id);
      tab.focus();
    });
    const first = this.#tabs[0];
    if (first) this.select(first.id);
  }

  /** The id of the selected tab. */
  get selected(): string | undefined {
    return this.#tabs.find((tab) => tab.getAttribute('aria-selected') === 'true')?.id;
  }

  select(tabId: string): void {
    const target = this.#tabs.find((tab) => tab.id === tabId && !tab.hidden);
    if (!target) return;
    const changed = this.selected !== target.id;
    for (const tab of this.#tabs) {
      const selected = tab === target;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = this.#panel(tab);
      if (panel) panel.hidden = !selected;
    }
    if (changed) this.emit('selected', target.id);
  }

  /** Shows or hides a tab (with a new label when given); hiding the selected tab selects the first visible one. */
  setTab(tabId: string, visible: boolean, label?: string): void {
    const tab = this.#tabs.find((t) => t.id === tabId);
    if (!tab) return;
    if (label !== undefined) tab.textContent = label;
    tab.hidden = !visible;
    if (!visible && this.selected === tabId) {
      const first = this.#visible()[0];
      if (first) this.select(first.id);
      else {
        tab.setAttribute('aria-selected', 'false');
        const panel = this.#panel(tab);
        if (panel) panel.hidden = true;
      }
    }
    this.strip.hidden = this.#visible().length < 2;
  }

  #visible(): HTMLButtonElement[] {
    return this.#tabs.filter((tab) => !tab.hidden);
  }

  #panel(tab: HTMLButtonElement): HTMLElement | null {
    const id = tab.getAttribute('aria-controls');
    return id ? document.getElementById(id) : null;
  }
}
