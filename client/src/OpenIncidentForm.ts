/**
 * The form opening an incident at a location: title, kind, latitude and longitude (or "lat, lng"
 * pasted into the latitude), radius, municipality, and whether the cameras around it are attached
 * at once. Emits `opened` with the new incident.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, humanise, input, select, StatusLine, uniqueId } from './forms.ts';
import { INCIDENT_KINDS, type IncidentsApi, type IncidentView } from './IncidentsApi.ts';
import { readIncidentInput, type FieldName } from './incidentInput.ts';

export interface OpenIncidentFormEvents {
  opened: [incident: IncidentView];
}

export class OpenIncidentForm extends Emitter<OpenIncidentFormEvents> {
  readonly el: HTMLFormElement;
  readonly #controls: Record<Exclude<FieldName, 'autoAttach'>, HTMLInputElement | HTMLSelectElement>;
  readonly #municipalities: HTMLDataListElement;
  readonly #autoAttach: HTMLInputElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();

  constructor(private readonly api: IncidentsApi) {
    super();
    const title = input({ maxlength: '200', required: '', 'data-field': 'title' });
    const kind = select([['', 'Choose…'], ...INCIDENT_KINDS.map((k): [string, string] => [k, humanise(k)])], { required: '', 'data-field': 'kind' });
    const lat = input({ inputmode: 'decimal', required: '', placeholder: '19.4326', 'data-field': 'lat' });
    const lng = input({ inputmode: 'decimal', required: '', placeholder: '-99.1332', 'data-field': 'lng' });
    const radius = input({ inputmode: 'numeric', placeholder: 'default', 'data-field': 'radiusM' });
    // Free text, with the operator's municipalities offered as suggestions.
    this.#municipalities = element('datalist', { attrs: { id: uniqueId('municipalities') } });
    const municipality = input({ maxlength: '100', required: '', 'data-field': 'municipality', list: this.#municipalities.id });
    this.#autoAttach = element('input', { attrs: { type: 'checkbox', id: 'incident-auto-attach', 'data-field': 'autoAttach' } });
    this.#autoAttach.checked = true;
    this.#controls = { title, kind, lat, lng, radiusM: radius, municipality };
    this.#submit = element('button', { className: 'form-button primary', text: 'Open incident', attrs: { type: 'submit' } });

    this.el = element('form', { className: 'inline-form open-incident-form', attrs: { 'aria-label': 'Open an incident', novalidate: '' } }, [
      field('Title', title),
      field('Kind', kind),
      element('div', { className: 'field-row' }, [field('Latitude', lat), field('Longitude', lng)]),
      element('div', { className: 'field-row' }, [field('Radius (m)', radius), field('Municipality', municipality)]),
      this.#municipalities,
      element('label', { className: 'choice', attrs: { for: this.#autoAttach.id } }, [this.#autoAttach, ' Attach the cameras around it']),
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
    ]);
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#open();
    });
  }

  /** The municipalities the operator works in, offered as suggestions (the only one is filled in). */
  setMunicipalities(municipalities: string[]): void {
    this.#municipalities.replaceChildren(...municipalities.map((m) => element('option', { attrs: { value: m } })));
    const only = municipalities[0];
    if (municipalities.length === 1 && only !== undefined && !this.#controls.municipality.value) this.#controls.municipality.value = only;
  }

  async #open(): Promise<void> {
    const c = this.#controls;
    const read = readIncidentInput({
      title: c.title.value,
      kind: c.kind.value,
      lat: c.lat.value,
      lng: c.lng.value,
      radiusM: c.radiusM.value,
      municipality: c.municipality.value,
      autoAttach: this.#autoAttach.checked,
    });
    for (const control of Object.values(c)) control.removeAttribute('aria-invalid');
    if (!read.ok) {
      this.#status.error(read.message);
      const control = read.field === 'autoAttach' ? this.#autoAttach : c[read.field];
      control.setAttribute('aria-invalid', 'true');
      control.focus();
      return;
    }
    const incident = await busy(this.#submit, this.#status, () => this.api.openIncident(read.value));
    if (!incident) return;
    for (const control of [c.title, c.lat, c.lng, c.radiusM]) control.value = '';
    c.kind.value = '';
    this.#status.info(`Incident opened with ${incident.cameras.length} camera${incident.cameras.length === 1 ? '' : 's'}.`);
    this.emit('opened', incident);
  }
}
