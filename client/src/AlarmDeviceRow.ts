/**
 * One alarm device in the admin's list: code, name, kind, owner, municipality, supervision
 * (online or offline, last seen), its SIA DC-09 account and encryption (alarm panels), its status
 * (changed at once from the select), "Rotate key" and, for panels with DC-09 encryption, "New
 * DC-09 key": each asks to confirm (the device stops working until it gets the new key) and emits
 * the new key for the key dialog.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, button, disclose, humanise, select, shortTime, StatusLine } from './forms.ts';
import {
  ALARM_DEVICE_STATUSES,
  dc09EncryptionText,
  type AlarmDeviceStatus,
  type AlarmDeviceView,
  type AlarmKeyKind,
  type AlarmsApi,
  type RotatedAlarmDevice,
} from './AlarmsApi.ts';

export interface AlarmDeviceRowEvents {
  /** A key was rotated (or issued by a change): show the new one once. */
  rotated: [rotated: RotatedAlarmDevice];
  /** The device changed here (its status). */
  changed: [device: AlarmDeviceView];
}

export class AlarmDeviceRow extends Emitter<AlarmDeviceRowEvents> {
  readonly el: HTMLLIElement;
  #device: AlarmDeviceView;
  readonly #title: HTMLParagraphElement;
  readonly #meta: HTMLParagraphElement;
  readonly #supervision: HTMLParagraphElement;
  readonly #dc09: HTMLParagraphElement;
  readonly #dc09Rotate: { toggle: HTMLButtonElement; confirm: HTMLDivElement };
  /** The rotation confirmations: opening one closes the other. */
  readonly #rotations: Array<{ toggle: HTMLButtonElement; confirm: HTMLDivElement }> = [];
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

    this.#dc09 = element('p', { className: 'incident-meta alarm-device-dc09' });
    const rotate = this.#rotation('http', 'Rotate key…', 'The device stops working until it is given the new key.', 'Rotate now');
    this.#dc09Rotate = this.#rotation(
      'dc09',
      'New DC-09 key…',
      "The panel's encrypted DC-09 reports are refused until it is given the new key.",
      'Issue new DC-09 key',
    );

    this.el = element('li', { className: 'alarm-device-row', attrs: { 'data-device-id': device.id, 'data-code': device.code } }, [
      this.#title,
      this.#meta,
      this.#supervision,
      this.#dc09,
      element('div', { className: 'grant-actions' }, [this.#statusSelect, rotate.toggle, this.#dc09Rotate.toggle]),
      rotate.confirm,
      this.#dc09Rotate.confirm,
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
    const dc09 = device.dc09;
    this.#dc09.hidden = !dc09;
    if (dc09) {
      const frames = dc09.encryption === 'none' ? 'clear frames only' : dc09.encryptionRequired ? 'clear frames refused' : 'clear frames accepted';
      this.#dc09.replaceChildren('SIA DC-09 account ', element('span', { className: 'camera-code', text: dc09.account }), ` · ${dc09EncryptionText(dc09.encryption)} · ${frames}`);
      this.#dc09.dataset.account = dc09.account;
      this.#dc09.dataset.encryption = dc09.encryption;
      this.#dc09.dataset.encryptionRequired = String(dc09.encryptionRequired);
    } else {
      this.#dc09.replaceChildren();
      for (const key of ['account', 'encryption', 'encryptionRequired']) delete this.#dc09.dataset[key];
    }
    const dc09Key = !!dc09 && dc09.encryption !== 'none';
    this.#dc09Rotate.toggle.hidden = !dc09Key;
    if (!dc09Key) {
      this.#dc09Rotate.confirm.hidden = true;
      this.#dc09Rotate.toggle.setAttribute('aria-expanded', 'false');
    }
    if (document.activeElement !== this.#statusSelect) this.#statusSelect.value = device.status;
  }

  close(): void {
    this.removeAllListeners();
  }

  /** A button asking to confirm, and the confirmation that rotates the key `which`. */
  #rotation(which: AlarmKeyKind, label: string, warning: string, confirmLabel: string): { toggle: HTMLButtonElement; confirm: HTMLDivElement } {
    const action = which === 'http' ? 'rotate-key' : 'rotate-dc09-key';
    const confirm = element('div', { className: 'alarm-rotate-confirm', attrs: { 'data-key': which } }, [element('p', { className: 'field-hint', text: warning })]);
    confirm.hidden = true;
    const toggle = button(label, { 'data-action': action, 'data-focus-key': `${this.#device.id}:${which === 'http' ? 'rotate' : 'rotate-dc09'}` }, 'form-button small');
    const rotation = { toggle, confirm };
    this.#rotations.push(rotation);
    // The focus stays on the toggle (Enter twice must not rotate): the confirmation is next in tab order.
    disclose(toggle, confirm, () => {
      for (const other of this.#rotations) {
        if (other === rotation) continue;
        other.confirm.hidden = true;
        other.toggle.setAttribute('aria-expanded', 'false');
      }
    });
    const rotate = button(confirmLabel, { 'data-action': `${action}-confirm`, 'aria-label': `${confirmLabel} for ${this.#device.code}` }, 'form-button small danger');
    rotate.addEventListener('click', () => {
      void busy(rotate, this.#status, () => this.api.rotateKey(this.#device.id, which)).then((rotated) => {
        if (!rotated) return;
        confirm.hidden = true;
        toggle.setAttribute('aria-expanded', 'false');
        toggle.focus();
        this.update(rotated.device);
        this.#status.info(which === 'http' ? 'New key issued.' : 'New DC-09 key issued.');
        this.emit('rotated', rotated);
      });
    });
    confirm.append(rotate);
    return rotation;
  }

  async #setStatus(status: AlarmDeviceStatus): Promise<void> {
    if (status === this.#device.status) return;
    this.#status.clear();
    this.#statusSelect.disabled = true;
    try {
      const { device, dc09Key } = await this.api.updateDevice(this.#device.id, { status });
      this.update(device);
      this.#status.info(`Now ${humanise(device.status).toLowerCase()}.`);
      this.emit('changed', device);
      if (dc09Key) this.emit('rotated', { device, dc09Key });
    } catch (error) {
      this.#statusSelect.value = this.#device.status;
      this.#status.error(error instanceof Error ? error.message : String(error));
    } finally {
      this.#statusSelect.disabled = false;
    }
  }
}
