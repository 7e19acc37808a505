/**
 * The admin's CSV import of alarm devices: a file sent as text/csv, then the server's report
 * (rows, created, unchanged, the refused lines with their reasons). The keys of the devices it
 * created (HTTP keys, and the DC-09 keys of encrypted panels) are shown once, in the key dialog.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, StatusLine } from './forms.ts';
import type { AlarmDeviceImportReport, AlarmsApi } from './AlarmsApi.ts';

export interface AlarmDeviceImportFormEvents {
  imported: [report: AlarmDeviceImportReport];
}

export const ALARM_CSV_COLUMNS =
  'code,name,kind,owner_name,owner_phone,owner_email,lat,lng,address,area,municipality,cameras,supervision_interval_s,status,dc09_account,dc09_encryption,dc09_encryption_required';
/** Larger files are refused here (the server has its own limit). */
const MAX_FILE_BYTES = 5 * 1024 * 1024;

export class AlarmDeviceImportForm extends Emitter<AlarmDeviceImportFormEvents> {
  readonly el: HTMLFormElement;
  readonly #file: HTMLInputElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();
  readonly #report: HTMLDivElement;

  constructor(private readonly api: AlarmsApi) {
    super();
    this.#file = element('input', { className: 'form-input', attrs: { type: 'file', accept: '.csv,text/csv', id: 'alarm-import-file', 'data-field': 'file' } });
    this.#submit = element('button', { className: 'form-button primary', text: 'Import', attrs: { type: 'submit', 'data-action': 'import-devices' } });
    this.#report = element('div', { className: 'alarm-import-report', attrs: { id: 'alarm-import-report', role: 'status', 'aria-live': 'polite' } });
    this.#report.hidden = true;
    this.el = element('form', { className: 'inline-form alarm-import-form', attrs: { 'aria-label': 'Import alarm devices', novalidate: '' } }, [
      field(
        'CSV file',
        this.#file,
        `Columns: ${ALARM_CSV_COLUMNS} (cameras separated by ";"; SIA DC-09 panels: an account of 3-16 hex digits, encryption aes128 (default), aes192, aes256 or none, encryption required true or false).`,
      ),
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
      this.#report,
    ]);
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#import();
    });
  }

  async #import(): Promise<void> {
    const file = this.#file.files?.[0];
    if (!file) {
      this.#status.error('choose a CSV file');
      this.#file.focus();
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      this.#status.error('the file is too large (5 MB at most)');
      return;
    }
    this.#report.hidden = true;
    const report = await busy(this.#submit, this.#status, async () => this.api.importDevices(await file.text()));
    if (!report) return;
    this.#file.value = '';
    this.#showReport(report);
    this.emit('imported', report);
  }

  #showReport(report: AlarmDeviceImportReport): void {
    const errors = Array.isArray(report.errors) ? report.errors : [];
    const summary = `${report.rows} row${report.rows === 1 ? '' : 's'}: ${report.created} created, ${report.unchanged} unchanged, ${errors.length} refused.`;
    this.#report.replaceChildren(
      element('p', { className: 'alarm-import-summary', text: summary }),
      ...(errors.length > 0
        ? [
            element(
              'ul',
              { className: 'alarm-import-errors', attrs: { 'aria-label': 'Refused lines' } },
              errors.map((error) =>
                element('li', { attrs: { 'data-line': String(error.line) } }, [`Line ${error.line}${error.code ? ` (${error.code})` : ''}: ${error.reason}`]),
              ),
            ),
          ]
        : []),
    );
    this.#report.dataset.errors = String(errors.length);
    this.#report.hidden = false;
  }
}
