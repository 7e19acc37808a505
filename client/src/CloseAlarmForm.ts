/**
 * Closing an alarm: what it was (disposition) and an optional note. 'real' keeps the alarm's
 * incident open (it goes on in the Incidents tab); 'false' and 'test' close the incident too.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, select, StatusLine, textarea } from './forms.ts';
import { ALARM_DISPOSITIONS, type AlarmDisposition, type AlarmsApi, type AlarmView } from './AlarmsApi.ts';

export interface CloseAlarmFormEvents {
  closed: [alarm: AlarmView];
}

const DISPOSITION_TEXT: Record<AlarmDisposition, string> = {
  real: 'Real emergency (the incident stays open)',
  false: 'False alarm (closes the incident)',
  test: 'Test (closes the incident)',
};

export class CloseAlarmForm extends Emitter<CloseAlarmFormEvents> {
  readonly el: HTMLFormElement;
  readonly #disposition: HTMLSelectElement;
  readonly #note: HTMLTextAreaElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();

  constructor(
    private readonly alarmId: string,
    private readonly api: AlarmsApi,
  ) {
    super();
    this.#disposition = select([['', 'Choose…'], ...ALARM_DISPOSITIONS.map((d): [string, string] => [d, DISPOSITION_TEXT[d]])], {
      required: '',
      'data-field': 'disposition',
    });
    this.#note = textarea({ maxlength: '2000', 'data-field': 'note' });
    this.#submit = element('button', { className: 'form-button danger', text: 'Close alarm', attrs: { type: 'submit', 'data-action': 'close-alarm' } });
    this.el = element('form', { className: 'inline-form alarm-close-form', attrs: { 'aria-label': 'Close the alarm', novalidate: '' } }, [
      field('What was it?', this.#disposition),
      field('Note (optional)', this.#note),
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
    if (!(ALARM_DISPOSITIONS as readonly string[]).includes(disposition)) {
      this.#status.error('choose what the alarm was');
      this.#disposition.setAttribute('aria-invalid', 'true');
      this.#disposition.focus();
      return;
    }
    this.#disposition.removeAttribute('aria-invalid');
    const note = this.#note.value.trim();
    const alarm = await busy(this.#submit, this.#status, () => this.api.closeAlarm(this.alarmId, disposition as AlarmDisposition, note || undefined));
    if (alarm) this.emit('closed', alarm);
  }
}
