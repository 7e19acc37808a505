/**
 * Closing an incident: how it ended (disposition) and a note, both required. Every grant of the
 * incident ends with it (the server closes the investigators' views).
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, humanise, select, StatusLine, textarea } from './forms.ts';
import { DISPOSITIONS, type Disposition, type IncidentsApi, type IncidentView } from './IncidentsApi.ts';

export interface CloseIncidentFormEvents {
  closed: [incident: IncidentView];
}

export class CloseIncidentForm extends Emitter<CloseIncidentFormEvents> {
  readonly el: HTMLFormElement;
  readonly #disposition: HTMLSelectElement;
  readonly #note: HTMLTextAreaElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();

  constructor(
    private readonly incidentId: string,
    private readonly api: IncidentsApi,
  ) {
    super();
    this.#disposition = select([['', 'Choose…'], ...DISPOSITIONS.map((d): [string, string] => [d, humanise(d)])], { required: '', 'data-field': 'disposition' });
    this.#note = textarea({ maxlength: '2000', required: '', 'data-field': 'note' });
    this.#submit = element('button', { className: 'form-button danger', text: 'Close incident', attrs: { type: 'submit' } });
    this.el = element('form', { className: 'inline-form close-form', attrs: { 'aria-label': 'Close the incident', novalidate: '' } }, [
      field('Disposition', this.#disposition),
      field('Closing note', this.#note, 'Required; every grant of the incident ends.'),
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
    ]);
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#close();
    });
  }

  async #close(): Promise<void> {
    const disposition = this.#disposition.value;
    if (!(DISPOSITIONS as readonly string[]).includes(disposition)) {
      this.#status.error('choose how the incident ended');
      this.#disposition.focus();
      return;
    }
    const note = this.#note.value.trim();
    if (!note) {
      this.#status.error('write a closing note');
      this.#note.focus();
      return;
    }
    const incident = await busy(this.#submit, this.#status, () => this.api.closeIncident(this.incidentId, disposition as Disposition, note));
    if (incident) this.emit('closed', incident);
  }
}
