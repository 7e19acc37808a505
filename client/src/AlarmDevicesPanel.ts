/**
 * The admin's "Alarm devices" panel: the devices (search by code, name or owner; filter by
 * status), a form registering one, a CSV import, and per device its status and key rotation (the
 * HTTP key, and the SIA DC-09 key of encrypted panels). Every new key (created, rotated, imported)
 * is shown once in the key dialog and not kept.
 */
import { AlarmDeviceForm } from './AlarmDeviceForm.ts';
import { AlarmDeviceImportForm } from './AlarmDeviceImportForm.ts';
import { AlarmDeviceRow } from './AlarmDeviceRow.ts';
import { AlarmKeyDialog } from './AlarmKeyDialog.ts';
import { element } from './dom.ts';
import { button, disclose, replaceKeepingFocus, select } from './forms.ts';
import { errorText } from './IncidentsApi.ts';
import type { AlarmDeviceStatus, AlarmDeviceView, AlarmsApi } from './AlarmsApi.ts';

const LIST_LIMIT = 200;
const SEARCH_DEBOUNCE_MS = 250;
const STATUS_FILTERS: Array<[value: string, text: string]> = [
  ['active,test', 'Active and test'],
  ['active', 'Active'],
  ['test', 'Test'],
  ['suspended', 'Suspended'],
  ['retired', 'Retired'],
  ['active,test,suspended,retired', 'All'],
];

export class AlarmDevicesPanel {
  readonly el: HTMLDivElement;
  readonly #search: HTMLInputElement;
  readonly #statusFilter: HTMLSelectElement;
  readonly #summary: HTMLParagraphElement;
  readonly #list: HTMLUListElement;
  readonly #rows = new Map<string, AlarmDeviceRow>();
  #searchTimer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #closed = false;

  constructor(private readonly api: AlarmsApi) {
    const form = new AlarmDeviceForm(api);
    form.el.hidden = true;
    const newToggle = button('New device', { 'data-action': 'new-device', id: 'alarm-device-new' }, 'form-button primary');
    disclose(newToggle, form.el);
    form.on('created', ({ device, httpKey, dc09Key }) => {
      AlarmKeyDialog.show(`Device ${device.code} registered`, [{ code: device.code, httpKey, ...(dc09Key && { dc09Key }) }]);
      void this.refresh();
    });

    const importForm = new AlarmDeviceImportForm(api);
    importForm.el.hidden = true;
    const importToggle = button('Import CSV', { 'data-action': 'import-csv', id: 'alarm-device-import' }, 'form-button');
    disclose(importToggle, importForm.el);
    importForm.on('imported', (report) => {
      const keys = (Array.isArray(report.keys) ? report.keys : []).map(({ code, httpKey, dc09Key }) => ({ code, httpKey, ...(dc09Key && { dc09Key }) }));
      if (keys.length > 0) AlarmKeyDialog.show(`${keys.length} device${keys.length === 1 ? '' : 's'} imported`, keys);
      void this.refresh();
    });

    const reload = button('Refresh', { 'data-action': 'refresh' }, 'form-button');
    reload.addEventListener('click', () => void this.refresh());

    this.#search = element('input', {
      className: 'camera-filter',
      attrs: { type: 'search', id: 'alarm-device-q', placeholder: 'Search code, name, owner', 'aria-label': 'Search alarm devices', autocomplete: 'off' },
    });
    this.#search.addEventListener('input', () => {
      if (this.#searchTimer !== undefined) clearTimeout(this.#searchTimer);
      this.#searchTimer = setTimeout(() => {
        this.#searchTimer = undefined;
        void this.refresh();
      }, SEARCH_DEBOUNCE_MS);
    });
    this.#statusFilter = select(STATUS_FILTERS, { id: 'alarm-device-status', 'aria-label': 'Device status' });
    this.#statusFilter.className = 'filter-select';
    this.#statusFilter.addEventListener('change', () => void this.refresh());

    this.#summary = element('p', { className: 'incident-summary', attrs: { id: 'alarm-device-summary', role: 'status', 'aria-live': 'polite' } });
    this.#list = element('ul', { className: 'incident-list alarm-device-list', attrs: { id: 'alarm-device-list', 'aria-label': 'Alarm devices' } });
    this.el = element('div', { className: 'incidents-panel alarm-devices-panel' }, [
      element('div', { className: 'incidents-toolbar' }, [newToggle, importToggle, reload]),
      form.el,
      importForm.el,
      element('div', { className: 'fleet-filters' }, [this.#search, element('div', { className: 'filter-row' }, [this.#statusFilter])]),
      this.#summary,
      element('div', { className: 'incident-scroller' }, [this.#list]),
    ]);
  }

  async refresh(): Promise<void> {
    if (this.#closed) return;
    const generation = ++this.#generation;
    this.#summary.textContent = 'Loading alarm devices…';
    this.#summary.dataset.ready = 'false';
    try {
      const page = await this.api.listDevices({
        status: this.#statusFilter.value.split(',') as AlarmDeviceStatus[],
        q: this.#search.value.trim() || undefined,
        limit: LIST_LIMIT,
      });
      if (generation !== this.#generation || this.#closed) return;
      const items = Array.isArray(page.items) ? page.items : [];
      this.#show(items);
      const total = typeof page.total === 'number' ? page.total : items.length;
      this.#summary.textContent =
        items.length === 0 ? 'No alarm device' : `${items.length} alarm device${items.length === 1 ? '' : 's'}${total > items.length ? ` (of ${total})` : ''}`;
      this.#summary.classList.remove('error');
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#summary.textContent = `Could not load the alarm devices: ${errorText(error)}`;
      this.#summary.classList.add('error');
    } finally {
      if (generation === this.#generation) this.#summary.dataset.ready = 'true';
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#searchTimer !== undefined) clearTimeout(this.#searchTimer);
    for (const row of this.#rows.values()) row.close();
    this.#rows.clear();
  }

  #show(devices: AlarmDeviceView[]): void {
    const seen = new Set<string>();
    const rows = devices.map((device) => {
      seen.add(device.id);
      let row = this.#rows.get(device.id);
      if (row) row.update(device);
      else {
        row = new AlarmDeviceRow(device, this.api);
        row.on('rotated', ({ device: rotated, httpKey, dc09Key }) =>
          AlarmKeyDialog.show(httpKey ? `New key for ${rotated.code}` : `New DC-09 key for ${rotated.code}`, [
            { code: rotated.code, ...(httpKey && { httpKey }), ...(dc09Key && { dc09Key }) },
          ]),
        );
        this.#rows.set(device.id, row);
      }
      return row;
    });
    for (const [id, row] of this.#rows) {
      if (seen.has(id)) continue;
      row.close();
      this.#rows.delete(id);
    }
    replaceKeepingFocus(this.#list, rows.map((row) => row.el));
  }
}
