/**
 * The supervised alarm devices whose heartbeats stopped: a small notice beside the alarms ("2
 * alarm devices offline", expandable to the list). Not an alarm: no sound, no alert.
 */
import { element } from './dom.ts';
import { button, disclose, shortTime } from './forms.ts';
import type { AlarmDeviceStatusEvent } from './AlarmsApi.ts';

export class OfflineDevicesNotice {
  readonly el: HTMLDivElement;
  readonly #toggle: HTMLButtonElement;
  readonly #list: HTMLUListElement;
  readonly #devices = new Map<string, AlarmDeviceStatusEvent>();

  constructor() {
    this.#toggle = button('', { id: 'alarm-offline-toggle' }, 'form-button small alarm-offline-toggle');
    this.#list = element('ul', { className: 'alarm-offline-list', attrs: { id: 'alarm-offline-list', 'aria-label': 'Alarm devices offline' } });
    this.#list.hidden = true;
    disclose(this.#toggle, this.#list);
    this.el = element('div', { className: 'alarm-offline', attrs: { id: 'alarm-offline' } }, [this.#toggle, this.#list]);
    this.#render();
  }

  /** The devices offline now (on connection). */
  replace(devices: AlarmDeviceStatusEvent[]): void {
    this.#devices.clear();
    for (const device of devices) if (!device.online) this.#devices.set(device.deviceId, device);
    this.#render();
  }

  /** A device went offline or came back. */
  update(event: AlarmDeviceStatusEvent): void {
    if (event.online) this.#devices.delete(event.deviceId);
    else this.#devices.set(event.deviceId, event);
    this.#render();
  }

  /** The offline devices' codes (tests). */
  codes(): string[] {
    return [...this.#devices.values()].map((device) => device.code);
  }

  #render(): void {
    const count = this.#devices.size;
    this.el.hidden = count === 0;
    this.#toggle.textContent = `${count} alarm device${count === 1 ? '' : 's'} offline`;
    this.#list.replaceChildren(
      ...[...this.#devices.values()]
        .sort((a, b) => a.code.localeCompare(b.code))
        .map((device) =>
          element('li', { className: 'alarm-offline-device', attrs: { 'data-code': device.code } }, [
            element('span', { className: 'camera-code', text: device.code }),
            ` ${device.name} · ${device.municipality}`,
            device.lastSeenAt ? ` · last seen ${shortTime(device.lastSeenAt)}` : ' · never seen',
          ]),
        ),
    );
  }
}
