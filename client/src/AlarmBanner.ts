/**
 * The alarm banner at the top of the console (operators and admins): a bar with the count, the
 * "Click to enable alarm sound" prompt, the auto-switch setting and the offline devices, then
 * one card per alarm not closed, open ones first (newest first). The cards sit in an assertive
 * alert region: a new alarm, and who took one, are read out at once. Cards are kept and updated
 * in place; the time since the first press is redrawn every second.
 */
import { AlarmCard } from './AlarmCard.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { button, replaceKeepingFocus } from './forms.ts';
import type { AlarmDeviceStatusEvent, AlarmsApi, AlarmView } from './AlarmsApi.ts';
import { OfflineDevicesNotice } from './OfflineDevicesNotice.ts';

export interface AlarmBannerEvents {
  /** Put these cameras on the wall. */
  show: [codes: string[]];
  /** An acknowledgement or closing made here was answered. */
  changed: [alarm: AlarmView];
  /** The operator turned the auto-switch on or off. */
  autoSwitch: [on: boolean];
  /** The operator asked for the sound (the click itself resumes the audio). */
  enableSound: [];
}

const TICK_MS = 1000;

export class AlarmBanner extends Emitter<AlarmBannerEvents> {
  readonly #summary: HTMLParagraphElement;
  readonly #soundPrompt: HTMLButtonElement;
  readonly #autoSwitch: HTMLInputElement;
  readonly #offline = new OfflineDevicesNotice();
  readonly #list: HTMLUListElement;
  readonly #cards = new Map<string, AlarmCard>();
  /** When each alarm's card was first rendered (epoch ms), for as long as the console runs. */
  readonly #shownAt = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly container: HTMLElement,
    private readonly api: AlarmsApi,
  ) {
    super();
    this.#summary = element('p', { className: 'alarm-summary', attrs: { id: 'alarm-summary' } });
    this.#soundPrompt = button('Click to enable alarm sound', { id: 'alarm-sound-enable' }, 'form-button alarm-sound-enable');
    this.#soundPrompt.hidden = true;
    this.#soundPrompt.addEventListener('click', () => this.emit('enableSound'));
    this.#autoSwitch = element('input', { attrs: { type: 'checkbox', id: 'alarm-auto-switch' } });
    this.#autoSwitch.addEventListener('change', () => this.emit('autoSwitch', this.#autoSwitch.checked));
    this.#list = element('ul', { className: 'alarm-list', attrs: { id: 'alarm-list', 'aria-label': 'Alarms' } });
    container.replaceChildren(
      element('div', { className: 'alarm-bar' }, [
        element('h2', { className: 'alarm-title', text: 'Alarms' }),
        this.#summary,
        this.#soundPrompt,
        element('label', { className: 'choice alarm-auto-switch', attrs: { for: this.#autoSwitch.id } }, [this.#autoSwitch, " Switch the wall to an alarm's cameras automatically"]),
        this.#offline.el,
      ]),
      element('div', { className: 'alarm-alerts', attrs: { id: 'alarm-alerts', role: 'alert', 'aria-live': 'assertive' } }, [this.#list]),
    );
    this.#render();
  }

  /** Shows or hides the whole banner (it is for operators and admins only). */
  setVisible(visible: boolean): void {
    this.container.hidden = !visible;
    if (visible && this.#timer === undefined) this.#timer = setInterval(() => this.#tick(), TICK_MS);
    if (!visible && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (visible) this.#stampShown();
  }

  get visible(): boolean {
    return !this.container.hidden;
  }

  /** The alarms not closed, as the console knows them now. */
  render(alarms: AlarmView[]): void {
    const seen = new Set<string>();
    for (const alarm of alarms) {
      if (alarm.status === 'closed') continue;
      seen.add(alarm.id);
      const card = this.#cards.get(alarm.id);
      if (card) card.update(alarm);
      else this.#cards.set(alarm.id, this.#card(alarm));
    }
    for (const [id, card] of this.#cards) {
      if (seen.has(id)) continue;
      card.close();
      this.#cards.delete(id);
    }
    this.#render();
  }

  setOffline(devices: AlarmDeviceStatusEvent[]): void {
    this.#offline.replace(devices);
  }

  deviceStatus(event: AlarmDeviceStatusEvent): void {
    this.#offline.update(event);
  }

  offlineCodes(): string[] {
    return this.#offline.codes();
  }

  setSoundPrompt(visible: boolean): void {
    this.#soundPrompt.hidden = !visible;
  }

  /** Whether the enable-sound prompt is on screen. */
  get soundPromptVisible(): boolean {
    return this.visible && !this.#soundPrompt.hidden;
  }

  setAutoSwitch(on: boolean): void {
    this.#autoSwitch.checked = on;
  }

  /** When the card of this alarm was first rendered (epoch ms). */
  shownAt(id: string): number | undefined {
    return this.#shownAt.get(id);
  }

  close(): void {
    this.setVisible(false);
    for (const card of this.#cards.values()) card.close();
    this.#cards.clear();
    this.container.replaceChildren();
    this.removeAllListeners();
  }

  #card(alarm: AlarmView): AlarmCard {
    const card = new AlarmCard(alarm, this.api);
    card.on('show', (codes) => this.emit('show', codes));
    card.on('changed', (changed) => this.emit('changed', changed));
    return card;
  }

  #render(): void {
    const cards = [...this.#cards.values()].sort((a, b) => {
      const open = Number(b.alarm.status === 'open') - Number(a.alarm.status === 'open');
      return open !== 0 ? open : b.alarm.firstAt.localeCompare(a.alarm.firstAt);
    });
    const same = cards.length === this.#list.children.length && cards.every((card, i) => this.#list.children[i] === card.el);
    if (!same) replaceKeepingFocus(this.#list, cards.map((card) => card.el));
    const open = cards.filter((card) => card.alarm.status === 'open').length;
    const taken = cards.length - open;
    this.#summary.textContent =
      cards.length === 0 ? 'No alarm' : [open > 0 ? `${open} open` : '', taken > 0 ? `${taken} acknowledged` : ''].filter(Boolean).join(', ');
    this.#summary.dataset.open = String(open);
    this.container.dataset.ringing = String(open > 0);
    this.#list.hidden = cards.length === 0;
    this.#stampShown();
  }

  /** Notes when each card was first on screen. */
  #stampShown(): void {
    if (!this.visible) return;
    const now = performance.timeOrigin + performance.now();
    for (const id of this.#cards.keys()) if (!this.#shownAt.has(id)) this.#shownAt.set(id, now);
  }

  #tick(): void {
    const now = Date.now();
    for (const card of this.#cards.values()) card.tick(now);
  }
}
