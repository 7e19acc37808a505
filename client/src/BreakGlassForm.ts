/**
 * Break-glass: an operator watches an incident-only citizen camera outside any incident, for a
 * limited time, with a reason (audited). On success the camera goes on the wall.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, input, shortTime, StatusLine, textarea } from './forms.ts';
import type { BreakGlassView, IncidentsApi } from './IncidentsApi.ts';

export interface BreakGlassFormEvents {
  granted: [view: BreakGlassView];
}

export class BreakGlassForm extends Emitter<BreakGlassFormEvents> {
  readonly el: HTMLFormElement;
  readonly #camera: HTMLInputElement;
  readonly #reason: HTMLTextAreaElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();

  constructor(private readonly api: IncidentsApi) {
    super();
    this.#camera = input({ maxlength: '64', required: '', spellcheck: 'false', autocapitalize: 'none', 'data-field': 'camera' });
    this.#reason = textarea({ maxlength: '500', required: '', 'data-field': 'reason' });
    this.#submit = element('button', { className: 'form-button danger', text: 'Break glass and watch', attrs: { type: 'submit' } });
    this.el = element('form', { className: 'inline-form break-glass-form', attrs: { 'aria-label': 'Break glass', novalidate: '' } }, [
      element('p', { className: 'field-hint', text: 'Watch an incident-only camera outside an incident, for a limited time. Audited.' }),
      field('Camera code', this.#camera),
      field('Reason', this.#reason),
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
    ]);
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#breakGlass();
    });
  }

  async #breakGlass(): Promise<void> {
    const camera = this.#camera.value.trim();
    if (!camera) {
      this.#status.error('type the camera code');
      this.#camera.focus();
      return;
    }
    const reason = this.#reason.value.trim();
    if (!reason) {
      this.#status.error('give the reason');
      this.#reason.focus();
      return;
    }
    const view = await busy(this.#submit, this.#status, () => this.api.breakGlass(camera, reason));
    if (!view) return;
    this.#camera.value = '';
    this.#reason.value = '';
    this.#status.info(`Break glass: ${view.camera} may be watched until ${shortTime(view.until)}; it is on the wall.`);
    this.emit('granted', view);
  }
}
