/**
 * The sidebar's incidents tab, whose content depends on who is signed in: operators and admins
 * get the incidents panel (open incidents, grants, break-glass), investigators "My incidents"
 * (their live grants); anyone else has no such tab. Follows role changes (rightsChanged) and the
 * server's incidentsChanged / grantsChanged events, and reloads after a reconnection (events may
 * have been missed meanwhile).
 */
import type { IncidentsApi } from './IncidentsApi.ts';
import { IncidentsPanel, type IncidentSummary } from './IncidentsPanel.ts';
import { MyIncidents, type MyGrantSummary } from './MyIncidents.ts';
import type { SidebarTabs } from './SidebarTabs.ts';

/** What the tab does with the wall. */
export interface WallTarget {
  /** Puts one camera on the selected tile (or the first free one). */
  pick(code: string): void;
  /** Puts these cameras on the wall. */
  fill(codes: string[]): void;
  /** Camera names may have changed (the incidents were loaded): the tiles show them again. */
  refreshNames(): void;
}

type Panel = { kind: 'incidents'; panel: IncidentsPanel; role: string; municipalities: string[] } | { kind: 'mine'; panel: MyIncidents };

const OPERATOR_ROLES = new Set(['operator', 'admin']);
const INVESTIGATOR_ROLE = 'investigator';
const BREAK_GLASS_ROLE = 'operator';

export class IncidentsTab {
  #panel: Panel | undefined;
  #municipalities: string[] = [];

  constructor(
    private readonly container: HTMLElement,
    private readonly tabs: SidebarTabs,
    private readonly tabId: string,
    private readonly api: IncidentsApi,
    private readonly wall: WallTarget,
    private readonly cameraListName: (code: string) => string | undefined,
  ) {
    tabs.setTab(tabId, false);
  }

  /** Who is signed in (GET /api/me, then rightsChanged). */
  setUser(role: string, municipalities: string[]): void {
    this.#municipalities = municipalities;
    const kind = OPERATOR_ROLES.has(role) ? 'incidents' : role === INVESTIGATOR_ROLE ? 'mine' : undefined;
    const current = this.#panel;
    // Break-glass is for operators only: an operator made admin (or back) gets a new panel.
    if (current && kind === current.kind && (current.kind !== 'incidents' || current.role === role)) {
      if (current.kind === 'incidents') {
        // Other municipalities: other incidents to run (the server tells only of those run now).
        const changed = municipalities.join('\n') !== current.municipalities.join('\n');
        current.panel.setMunicipalities(municipalities);
        current.municipalities = [...municipalities];
        if (changed) current.panel.scheduleRefresh();
      }
      return;
    }
    this.#closePanel();
    if (kind === undefined) {
      this.tabs.setTab(this.tabId, false);
      return;
    }
    if (kind === 'incidents') {
      const panel = new IncidentsPanel(this.api, { breakGlass: role === BREAK_GLASS_ROLE });
      panel.setMunicipalities(this.#municipalities);
      panel.on('pick', (code) => this.wall.pick(code));
      panel.on('fill', (codes) => this.wall.fill(codes));
      panel.on('loaded', () => this.wall.refreshNames());
      this.#panel = { kind, panel, role, municipalities: [...municipalities] };
      this.container.replaceChildren(panel.el);
      this.tabs.setTab(this.tabId, true, 'Incidents');
      void panel.refresh();
    } else {
      const panel = new MyIncidents(this.api, this.cameraListName);
      panel.on('pick', (code) => this.wall.pick(code));
      panel.on('fill', (codes) => this.wall.fill(codes));
      this.#panel = { kind, panel };
      this.container.replaceChildren(panel.el);
      this.tabs.setTab(this.tabId, true, 'My incidents');
      // An investigator comes for their incidents: show them first.
      this.tabs.select(this.tabId);
      void panel.refresh();
    }
  }

  /** The server said incidents changed (operators, admins). */
  incidentsChanged(): void {
    if (this.#panel?.kind === 'incidents') this.#panel.panel.scheduleRefresh();
  }

  /** The server said this investigator's grants changed. */
  grantsChanged(): void {
    if (this.#panel?.kind === 'mine') this.#panel.panel.scheduleRefresh();
  }

  /** Connected again: what changed meanwhile was not announced. */
  reconnected(): void {
    this.#panel?.panel.scheduleRefresh();
  }

  /** Camera names arrived in the camera list. */
  refreshNames(): void {
    if (this.#panel?.kind === 'mine') this.#panel.panel.refreshNames();
  }

  /** A camera's name as the incidents know it (for tiles of cameras outside the camera list). */
  cameraName(code: string): string | undefined {
    return this.#panel?.kind === 'incidents' ? this.#panel.panel.cameraName(code) : undefined;
  }

  incidents(): IncidentSummary[] {
    return this.#panel?.kind === 'incidents' ? this.#panel.panel.incidents() : [];
  }

  myGrants(): MyGrantSummary[] {
    return this.#panel?.kind === 'mine' ? this.#panel.panel.myGrants() : [];
  }

  close(): void {
    this.#closePanel();
    this.tabs.setTab(this.tabId, false);
  }

  #closePanel(): void {
    this.#panel?.panel.close();
    this.#panel = undefined;
    this.container.replaceChildren();
  }
}
