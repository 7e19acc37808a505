/**
 * One alarm in the banner: where (address, else coordinates; municipality), which device and
 * whose (owner, phone as a tel: link), how many presses and since when, the cameras (linked to
 * the device, or nearby with their distance; "no camera nearby"), and who took it. Buttons:
 * Acknowledge (while open), Show cameras (the wall switches to them), Close (a small form).
 * The card is updated in place, so a half-filled close form survives the updates.
 */
import { CloseAlarmForm } from './CloseAlarmForm.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, button, disclose, distance, humanise, shortTime, StatusLine } from './forms.ts';
import type { AlarmsApi, AlarmView } from './AlarmsApi.ts';

export interface AlarmCardEvents {
  /** Put these cameras on the wall. */
  show: [codes: string[]];
  /** The server answered an acknowledgement or a closing made here. */
  changed: [alarm: AlarmView];
}

export class AlarmCard extends Emitter<AlarmCardEvents> {
  readonly el: HTMLLIElement;
  #alarm: AlarmView;
  readonly #status: HTMLSpanElement;
  readonly #place: HTMLSpanElement;
  readonly #device: HTMLSpanElement;
  readonly #owner: HTMLSpanElement;
  readonly #presses: HTMLSpanElement;
  readonly #since: HTMLSpanElement;
  readonly #ago: HTMLSpanElement;
  readonly #cameras: HTMLElement;
  readonly #acknowledge: HTMLButtonElement;
  readonly #show: HTMLButtonElement;
  readonly #closeToggle: HTMLButtonElement;
  readonly #closeForm: CloseAlarmForm;
  readonly #message = new StatusLine();

  constructor(
    alarm: AlarmView,
    private readonly api: AlarmsApi,
  ) {
    super();
    this.#alarm = alarm;
    const key = alarm.id;
    this.#status = element('span', { className: 'alarm-status' });
    this.#place = element('span', { className: 'alarm-place' });
    this.#device = element('span', { className: 'alarm-device' });
    this.#owner = element('span', { className: 'alarm-owner' });
    this.#presses = element('span', { className: 'alarm-presses' });
    this.#since = element('span', { className: 'alarm-since' });
    // The running "ago" changes every few seconds: hidden from screen readers, or the alert region would keep talking.
    this.#ago = element('span', { className: 'alarm-ago', attrs: { 'aria-hidden': 'true' } });
    this.#cameras = element('span', { className: 'alarm-cameras' });

    this.#acknowledge = button('Acknowledge', { 'data-action': 'acknowledge', 'data-focus-key': `${key}:acknowledge` }, 'form-button primary');
    this.#acknowledge.addEventListener('click', () => void this.#acknowledgeAlarm());
    this.#show = button('Show cameras', { 'data-action': 'show-cameras', 'data-focus-key': `${key}:show` }, 'form-button');
    this.#show.addEventListener('click', () => this.emit('show', this.codes()));
    this.#closeForm = new CloseAlarmForm(alarm.id, api);
    this.#closeForm.el.hidden = true;
    this.#closeForm.on('closed', (closed) => this.emit('changed', closed));
    this.#closeToggle = button('Close…', { 'data-action': 'close', 'data-focus-key': `${key}:close` }, 'form-button danger');
    disclose(this.#closeToggle, this.#closeForm.el);

    this.el = element('li', { className: 'alarm', attrs: { 'data-alarm-id': alarm.id } }, [
      element('div', { className: 'alarm-main' }, [
        element('p', { className: 'alarm-line alarm-headline' }, [this.#status, this.#place]),
        element('p', { className: 'alarm-line' }, [this.#device, this.#owner]),
        element('p', { className: 'alarm-line alarm-meta' }, [this.#presses, this.#since, this.#ago]),
        element('p', { className: 'alarm-line' }, [element('span', { className: 'alarm-label', text: 'Cameras: ' }), this.#cameras]),
      ]),
      element('div', { className: 'alarm-actions' }, [this.#acknowledge, this.#show, this.#closeToggle]),
      this.#closeForm.el,
      this.#message.el,
    ]);
    this.#render();
    this.tick(Date.now());
  }

  get alarm(): AlarmView {
    return this.#alarm;
  }

  /** The alarm's camera codes, linked ones first, then the nearest. */
  codes(): string[] {
    return this.#alarm.cameras.map((camera) => camera.code);
  }

  update(alarm: AlarmView): void {
    this.#alarm = alarm;
    this.#render();
  }

  /** Redraws the time since the first press. */
  tick(now: number): void {
    const text = `(${ago(now - Date.parse(this.#alarm.firstAt))})`;
    if (this.#ago.textContent !== text) this.#ago.textContent = text;
  }

  /** The card left the banner. */
  close(): void {
    this.removeAllListeners();
  }

  async #acknowledgeAlarm(): Promise<void> {
    const alarm = await busy(this.#acknowledge, this.#message, () => this.api.acknowledge(this.#alarm.id));
    if (alarm) this.emit('changed', alarm);
  }

  #render(): void {
    const alarm = this.#alarm;
    this.el.dataset.status = alarm.status;
    const taken = alarm.acknowledgedBy?.username;
    setText(this.#status, alarm.status === 'open' ? 'Open' : alarm.status === 'acknowledged' ? `Acknowledged by ${taken ?? 'an operator'}` : humanise(alarm.status));
    const where = alarm.device.address?.trim() || `${alarm.location.lat.toFixed(5)}, ${alarm.location.lng.toFixed(5)}`;
    setText(this.#place, `${where} · ${alarm.municipality}`);
    setText(this.#device, `${alarm.device.name} (${humanise(alarm.device.kind)})`);
    const phone = alarm.device.owner.phone?.trim();
    const ownerChildren: Array<Node | string> = [alarm.device.owner.name];
    if (phone) ownerChildren.push(' · ', element('a', { className: 'alarm-phone', text: phone, attrs: { href: `tel:${phone.replace(/[^\d+]/g, '')}` } }));
    const ownerText = phone ? `${alarm.device.owner.name} · ${phone}` : alarm.device.owner.name;
    if (this.#owner.textContent !== ownerText) this.#owner.replaceChildren(...ownerChildren);
    setText(this.#presses, alarm.presses === 1 ? 'pressed once' : `pressed ${alarm.presses} times`);
    setText(this.#since, `first press ${shortTime(alarm.firstAt)}`);
    this.#renderCameras();
    this.#acknowledge.hidden = alarm.status !== 'open';
    this.#show.disabled = alarm.cameras.length === 0;
    this.el.setAttribute('aria-label', `Alarm: ${alarm.device.name}, ${where}, ${this.#status.textContent ?? ''}`);
  }

  #renderCameras(): void {
    const cameras = this.#alarm.cameras;
    const text = cameras.length === 0 ? 'no camera nearby' : cameras.map((c) => `${c.name} (${c.code}) ${c.linked ? 'linked' : distance(c.distanceM)}`).join(', ');
    if (this.#cameras.dataset.text === text) return;
    this.#cameras.dataset.text = text;
    if (cameras.length === 0) {
      this.#cameras.replaceChildren(element('span', { className: 'alarm-no-camera', text: 'no camera nearby' }));
      return;
    }
    this.#cameras.replaceChildren(
      ...cameras.map((camera, i) =>
        element('span', { className: 'alarm-camera', attrs: { 'data-code': camera.code, 'data-linked': String(camera.linked) } }, [
          element('span', { className: 'camera-name', text: camera.name }),
          ' ',
          element('span', { className: 'camera-code', text: camera.code }),
          ' ',
          camera.linked
            ? element('span', { className: 'alarm-camera-linked', text: 'linked' })
            : element('span', { className: 'alarm-camera-distance', text: distance(camera.distanceM) || 'nearby' }),
          i < cameras.length - 1 ? ', ' : '',
        ]),
      ),
    );
  }
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** 42_000 -> "42 s ago", 300_000 -> "5 min ago", 7_500_000 -> "2 h 05 min ago". */
export function ago(ms: number): string {
  if (!Number.isFinite(ms) || ms < 5_000) return 'just now';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min ago`;
}
