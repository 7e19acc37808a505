/**
 * One alarm device in the admin's list: code, name, kind, owner, municipality, supervision
 * (online or offline, last seen), its status (changed at once from the select), and "Rotate
 * key", which asks to confirm (the device stops working until it gets the new key) and emits
 * the new key for the key dialog.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, button, disclose, humanise, select, shortTime, StatusLine } from './forms.ts';
import { ALARM_DEVICE_STATUSES, type AlarmDeviceStatus, type AlarmDeviceView, type AlarmsApi, type KeyedAlarmDevice } from './AlarmsApi.ts';

export interface AlarmDeviceRowEvents {
  /** The key was rotated: show the new one once. */
  rotated: [rotated: KeyedAlarmDevice];
  /** The device changed here (its status). */
  changed: [device: AlarmDeviceView];
}

export class AlarmDeviceRow extends Emitter<AlarmDeviceRowEvents> {
  readonly el: HTMLLIElement;
  #device: AlarmDeviceView;
  readonly #title: HTMLParagraphElement;
  readonly #meta: HTMLParagraphElement;
  readonly #supervision: HTMLParagraphElement;
  readonly #statusSelect: HTMLSelectElement;
  readonly #status = new StatusLine();

  constructor(
    device: AlarmDeviceView,
    private readonly api: AlarmsApi,
  ) {
    super();
    this.#device = device;
    this.#title = element('p', { className: 'alarm-device-title' });
    this.#meta = element('p', { className: 'incident-meta' });
    this.#supervision = element('p', { className: 'incident-meta alarm-device-supervision' });
    this.#statusSelect = select(
      ALARM_DEVICE_STATUSES.map((s): [string, string] => [s, humanise(s)]),
      { 'data-action': 'device-status', 'aria-label': `Status of ${device.code}`, 'data-focus-key': `${device.id}:status` },
    );
    this.#statusSelect.addEventListener('change', () => void this.#setStatus(this.#statusSelect.value as AlarmDeviceStatus));

    const confirm = element('div', { className: 'alarm-rotate-confirm' }, [
      element('p', { className: 'field-hint', text: 'The device stops working until it is given the new key.' }),
    ]);
    confirm.hidden = true;
    const rotateToggle = button('Rotate key…', { 'data-action': 'rotate-key', 'data-focus-key': `${device.id}:rotate` }, 'form-button small');
    disclose(rotateToggle, confirm);
    const rotate = button('Rotate now', { 'data-action': 'rotate-key-confirm' }, 'form-button small danger');
    rotate.addEventListener('click', () => {
      void busy(rotate, this.#status, () => this.api.rotateKey(this.#device.id)).then((rotated) => {
        if (!rotated) return;
        confirm.hidden = true;
        rotateToggle.setAttribute('aria-expanded', 'false');
        this.update(rotated.device);
        this.#status.info('New key issued.');
        this.emit('rotated', rotated);
      });
    });
    confirm.append(rotate);

    this.el = element('li', { className: 'alarm-device-row', attrs: { 'data-device-id': device.id, 'data-code': device.code } }, [
      this.#title,
      this.#meta,
      this.#supervision,
      element('div', { className: 'grant-actions' }, [this.#statusSelect, rotateToggle]),
      confirm,
      this.#status.el,
    ]);
    this.update(device);
  }

  get device(): AlarmDeviceView {
    return this.#device;
  }

  update(device: AlarmDeviceView): void {
    this.#device = device;
    this.el.dataset.status = device.status;
    this.#title.replaceChildren(element('span', { className: 'camera-code', text: device.code }), ` ${device.name}`);
    const owner = [device.owner.name, device.owner.phone].filter(Boolean).join(' · ');
    this.#meta.textContent = `${humanise(device.kind)} · ${device.municipality} (${device.area}) · ${owner}${device.address ? ` · ${device.address}` : ''}`;
    const seen = device.lastSeenAt ? `last seen ${shortTime(device.lastSeenAt)}` : 'never seen';
    this.#supervision.textContent =
      device.supervisionIntervalS === undefined
        ? `Not supervised · ${seen} · key issued ${shortTime(device.keyIssuedAt)}`
        : `${device.online === false ? 'OFFLINE' : device.online ? 'Online' : 'Supervised'} (every ${device.supervisionIntervalS} s) · ${seen}`;
    this.#supervision.dataset.online = String(device.online ?? '');
    if (document.activeElement !== this.#statusSelect) this.#statusSelect.value = device.status;
  }

  close(): void {
    this.removeAllListeners();
  }

  async #setStatus(status: AlarmDeviceStatus): Promise<void> {
    if (status === this.#device.status) return;
    this.#status.clear();
    this.#statusSelect.disabled = true;
    try {
      const device = await this.api.updateDevice(this.#device.id, { status });
      this.update(device);
      this.#status.info(`Now ${humanise(device.status).toLowerCase()}.`);
      this.emit('changed', device);
    } catch (error) {
      this.#statusSelect.value = this.#device.status;
      this.#status.error(error instanceof Error ? error.message : String(error));
    } finally {
      this.#statusSelect.disabled = false;
    }
  }
}
