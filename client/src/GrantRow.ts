/**
 * One grant of an incident, as the operator manages it: the investigator, what they may watch,
 * its status and the time left (ticked every second by the panel), Extend (+1 h, +4 h) and Revoke
 * (asks for the reason first). Changes go to the server; `changed` tells the card to reload.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, button, field, input, shortTime, StatusLine, uniqueId } from './forms.ts';
import type { GrantView, IncidentsApi } from './IncidentsApi.ts';
import { extendedEnd, formatTimeLeft, msLeft, urgency } from './timeLeft.ts';

export interface GrantRowEvents {
  changed: [grant: GrantView];
}

const HOUR_MS = 3_600_000;
const EXTENSIONS: Array<[label: string, ms: number]> = [
  ['+1 h', HOUR_MS],
  ['+4 h', 4 * HOUR_MS],
];

export class GrantRow extends Emitter<GrantRowEvents> {
  readonly el: HTMLLIElement;
  #grant: GrantView;
  readonly #who: HTMLSpanElement;
  readonly #scope: HTMLSpanElement;
  readonly #left: HTMLSpanElement;
  readonly #actions: HTMLDivElement;
  readonly #revokeForm: HTMLFormElement;
  readonly #reason: HTMLInputElement;
  readonly #revokeButton: HTMLButtonElement;
  readonly #status = new StatusLine();

  constructor(
    grant: GrantView,
    private readonly api: IncidentsApi,
  ) {
    super();
    this.#grant = grant;
    this.#who = element('span', { className: 'grant-who' });
    this.#scope = element('span', { className: 'grant-scope' });
    this.#left = element('span', { className: 'grant-left' });
    const extendButtons = EXTENSIONS.map(([label, ms]) => {
      const extend = button(label, { 'data-action': 'extend', 'data-extend-ms': String(ms), 'data-focus-key': `extend-${grant.id}-${ms}` }, 'form-button small');
      extend.addEventListener('click', () => void this.#extend(extend, ms));
      return extend;
    });
    const revoke = button('Revoke…', { 'data-action': 'revoke', 'aria-expanded': 'false' }, 'form-button small danger');
    this.#actions = element('div', { className: 'grant-actions' }, [...extendButtons, revoke]);

    this.#reason = input({ maxlength: '500', required: '', placeholder: 'why access ends now' });
    this.#revokeButton = element('button', { className: 'form-button small danger', text: 'Revoke access', attrs: { type: 'submit' } });
    const cancel = button('Cancel', {}, 'form-button small');
    this.#revokeForm = element('form', { className: 'inline-form', attrs: { 'aria-label': 'Revoke the grant' } }, [
      field('Reason for revoking', this.#reason),
      element('div', { className: 'form-actions' }, [this.#revokeButton, cancel]),
    ]);
    this.#revokeForm.hidden = true;
    revoke.addEventListener('click', () => {
      this.#revokeForm.hidden = false;
      revoke.setAttribute('aria-expanded', 'true');
      this.#reason.focus();
    });
    cancel.addEventListener('click', () => {
      this.#revokeForm.hidden = true;
      revoke.setAttribute('aria-expanded', 'false');
      revoke.focus();
    });
    this.#revokeForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#revoke();
    });

    // Focusable from script only: after a revoke hides the form, the focus stays on the grant.
    this.el = element('li', { className: 'grant', attrs: { 'data-grant-id': grant.id, id: uniqueId('grant'), tabindex: '-1' } }, [
      element('div', { className: 'grant-line' }, [this.#who, this.#left]),
      this.#scope,
      this.#actions,
      this.#revokeForm,
      this.#status.el,
    ]);
    this.update(grant);
  }

  get grant(): GrantView {
    return this.#grant;
  }

  update(grant: GrantView): void {
    this.#grant = grant;
    this.#who.textContent = grant.investigator.username;
    this.#scope.textContent =
      grant.scope === 'all' ? `All cameras · granted by ${grant.grantedBy.username}` : `Cameras ${(grant.cameras ?? []).join(', ')} · granted by ${grant.grantedBy.username}`;
    this.el.dataset.status = grant.status;
    this.#actions.hidden = !grant.live;
    if (!grant.live) this.#revokeForm.hidden = true;
    this.tick(Date.now());
  }

  /** Redraws the time left. */
  tick(now: number): void {
    const grant = this.#grant;
    if (!grant.live) {
      const ended = grant.endedAt ? ` ${shortTime(grant.endedAt)}` : '';
      this.#left.textContent = `${grant.status}${ended}${grant.endReason ? `: ${grant.endReason}` : ''}`;
      this.#left.dataset.urgency = 'ended';
      return;
    }
    const ms = msLeft(grant.endsAt, now);
    this.#left.textContent = ms > 0 ? `${formatTimeLeft(ms)} left` : 'ending…';
    this.#left.dataset.urgency = urgency(ms);
    this.#left.title = `Until ${shortTime(grant.endsAt)}`;
  }

  async #extend(control: HTMLButtonElement, addMs: number): Promise<void> {
    const grant = await busy(control, this.#status, () => this.api.extendGrant(this.#grant.id, extendedEnd(this.#grant.endsAt, Date.now(), addMs)));
    if (!grant) return;
    this.update(grant);
    this.#status.info(`Extended until ${shortTime(grant.endsAt)}.`);
    this.emit('changed', grant);
  }

  async #revoke(): Promise<void> {
    const reason = this.#reason.value.trim();
    if (!reason) {
      this.#status.error('give the reason for revoking');
      this.#reason.focus();
      return;
    }
    const grant = await busy(this.#revokeButton, this.#status, () => this.api.revokeGrant(this.#grant.id, reason));
    if (!grant) return;
    this.#reason.value = '';
    this.update(grant);
    this.el.focus();
    this.emit('changed', grant);
  }
}
