/**
 * The sidebar's "Alarm devices" tab: admins only (the panel is built when the role allows it and
 * dropped when it no longer does).
 */
import { AlarmDevicesPanel } from './AlarmDevicesPanel.ts';
import type { AlarmsApi } from './AlarmsApi.ts';
import type { SidebarTabs } from './SidebarTabs.ts';

const ADMIN_ROLE = 'admin';

export class AlarmDevicesTab {
  #panel: AlarmDevicesPanel | undefined;

  constructor(
    private readonly container: HTMLElement,
    private readonly tabs: SidebarTabs,
    private readonly tabId: string,
    private readonly api: AlarmsApi,
  ) {
    tabs.setTab(tabId, false);
  }

  setUser(role: string): void {
    if (role === ADMIN_ROLE) {
      if (this.#panel) return;
      this.#panel = new AlarmDevicesPanel(this.api);
      this.container.replaceChildren(this.#panel.el);
      this.tabs.setTab(this.tabId, true, 'Alarm devices');
      void this.#panel.refresh();
    } else {
      this.close();
    }
  }

  close(): void {
    this.#panel?.close();
    this.#panel = undefined;
    this.container.replaceChildren();
    this.tabs.setTab(this.tabId, false);
  }
}
