/**
 * The form granting an investigator access to an incident's cameras: who (from the investigators
 * this operator may grant), what (all the incident's cameras, now and later, or chosen ones), and
 * for how long. Emits `granted` with the server's answer.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, field, select, setOptions, StatusLine, uniqueId } from './forms.ts';
import type { GrantView, IncidentCamera, IncidentsApi, Investigator } from './IncidentsApi.ts';
import { endsAtIn } from './timeLeft.ts';

export interface GrantFormEvents {
  granted: [grant: GrantView];
}

const HOUR_MS = 3_600_000;
/** '' = the server's default duration. */
const DURATIONS: Array<[value: string, text: string]> = [
  ['', 'Default duration'],
  [String(HOUR_MS), '1 hour'],
  [String(4 * HOUR_MS), '4 hours'],
  [String(8 * HOUR_MS), '8 hours'],
  [String(24 * HOUR_MS), '24 hours'],
];

export class GrantForm extends Emitter<GrantFormEvents> {
  readonly el: HTMLFormElement;
  readonly #investigator: HTMLSelectElement;
  readonly #scopeAll: HTMLInputElement;
  readonly #scopeCameras: HTMLInputElement;
  readonly #cameraBox: HTMLFieldSetElement;
  readonly #duration: HTMLSelectElement;
  readonly #submit: HTMLButtonElement;
  readonly #status = new StatusLine();
  #cameras: IncidentCamera[] = [];
  #investigatorsLoaded = false;

  constructor(
    private readonly incidentId: string,
    private readonly api: IncidentsApi,
    private readonly investigators: () => Promise<Investigator[]>,
  ) {
    super();
    this.#investigator = select([['', 'Loading investigators…']], { required: '', 'data-field': 'investigator' });
    const scopeName = uniqueId('scope');
    this.#scopeAll = element('input', { attrs: { type: 'radio', name: scopeName, value: 'all', id: uniqueId('scope-all') } });
    this.#scopeAll.checked = true;
    this.#scopeCameras = element('input', { attrs: { type: 'radio', name: scopeName, value: 'cameras', id: uniqueId('scope-cameras') } });
    const scope = element('fieldset', { className: 'choice-group' }, [
      element('legend', { text: 'Cameras' }),
      element('label', { className: 'choice', attrs: { for: this.#scopeAll.id } }, [this.#scopeAll, ' All, including cameras attached later']),
      element('label', { className: 'choice', attrs: { for: this.#scopeCameras.id } }, [this.#scopeCameras, ' Only these:']),
    ]);
    this.#cameraBox = element('fieldset', { className: 'choice-group camera-choices', attrs: { 'aria-label': 'Cameras to grant' } });
    this.#cameraBox.disabled = true;
    this.#duration = select(DURATIONS, { 'data-field': 'duration' });
    this.#duration.value = String(4 * HOUR_MS);
    this.#submit = element('button', { className: 'form-button primary', text: 'Grant access', attrs: { type: 'submit' } });
    this.el = element('form', { className: 'inline-form grant-form', attrs: { 'aria-label': 'Grant an investigator access', novalidate: '' } }, [
      field('Investigator', this.#investigator),
      scope,
      this.#cameraBox,
      field('For', this.#duration),
      element('div', { className: 'form-actions' }, [this.#submit]),
      this.#status.el,
    ]);
    for (const radio of [this.#scopeAll, this.#scopeCameras]) radio.addEventListener('change', () => this.#renderScope());
    this.el.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#grant();
    });
  }

  /** Loads the investigators (once) when the form is first shown. */
  async load(): Promise<void> {
    if (this.#investigatorsLoaded) return;
    try {
      const list = await this.investigators();
      this.#investigatorsLoaded = true;
      setOptions(this.#investigator, [
        ['', list.length > 0 ? 'Choose an investigator' : 'No investigator you may grant'],
        ...list.map((person): [string, string] => [person.id, person.displayName && person.displayName !== person.username ? `${person.displayName} (${person.username})` : person.username]),
      ]);
    } catch (error) {
      setOptions(this.#investigator, [['', 'Could not load the investigators']]);
      this.#status.error(error instanceof Error ? error.message : String(error));
    }
  }

  /** The incident's cameras changed: the checkboxes follow (ticks kept). */
  setCameras(cameras: IncidentCamera[]): void {
    const ticked = new Set(this.#chosen());
    this.#cameras = cameras;
    const boxes = cameras.map((camera) => {
      const box = element('input', { attrs: { type: 'checkbox', value: camera.code, id: uniqueId('grant-camera') } });
      box.checked = ticked.has(camera.code);
      return element('label', { className: 'choice', attrs: { for: box.id } }, [box, ` ${camera.name} `, element('span', { className: 'camera-code', text: camera.code })]);
    });
    this.#cameraBox.replaceChildren(element('legend', { className: 'visually-hidden', text: 'Cameras to grant' }), ...boxes);
    if (cameras.length === 0) this.#cameraBox.append(element('span', { className: 'field-hint', text: 'No camera attached' }));
  }

  #chosen(): string[] {
    return Array.from(this.#cameraBox.querySelectorAll<HTMLInputElement>('input[type="checkbox"]'))
      .filter((box) => box.checked)
      .map((box) => box.value);
  }

  #renderScope(): void {
    this.#cameraBox.disabled = !this.#scopeCameras.checked;
  }

  async #grant(): Promise<void> {
    const investigator = this.#investigator.value;
    if (!investigator) {
      this.#status.error('choose an investigator');
      this.#investigator.focus();
      return;
    }
    const scope = this.#scopeCameras.checked ? 'cameras' : 'all';
    const cameras = this.#chosen().filter((code) => this.#cameras.some((camera) => camera.code === code));
    if (scope === 'cameras' && cameras.length === 0) {
      this.#status.error('tick at least one camera, or grant all of them');
      this.#cameraBox.querySelector<HTMLInputElement>('input')?.focus();
      return;
    }
    const duration = Number(this.#duration.value);
    const grant = await busy(this.#submit, this.#status, () =>
      this.api.grant(this.incidentId, {
        investigator,
        scope,
        ...(scope === 'cameras' && { cameras }),
        ...(duration > 0 && { endsAt: endsAtIn(Date.now(), duration) }),
      }),
    );
    if (!grant) return;
    this.#status.info(`Access granted to ${grant.investigator.username}.`);
    this.#investigator.value = '';
    this.emit('granted', grant);
  }
}
