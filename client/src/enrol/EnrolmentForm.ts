import type { AgreementView, EnrolmentReceipt } from '../../../server/enrolment/enrolmentSchemas.ts';
import { cameraCategories, sharingModes } from './vocabulary.ts';
import { element } from '../dom.ts';
import { agreementNodes } from './agreementText.ts';
import type { EnrolmentApi } from './EnrolmentApi.ts';
import { EnrolmentApiError } from './EnrolmentApiError.ts';
import { FieldErrors } from './FieldErrors.ts';
import { field, liveLine, passwordInput, radioCard, section, showCheckLine, textInput } from './fields.ts';
import { LocationFinder } from './LocationFinder.ts';
import { showRequestError } from './requestErrors.ts';
import type { Translator } from './Translator.ts';
import { validateEnrolment, type EnrolmentValues } from './validation.ts';

/**
 * The public enrolment form (/enrol): who, how to reach them, where, the camera, the sharing
 * consent and the program agreement. Sends once the browser's checks pass, waits while the server
 * checks the camera, keeps everything typed when the camera refuses the credentials or does not
 * answer (then offers "send anyway"), and hands the receipt over when the enrolment is stored.
 */
export class EnrolmentForm {
  readonly element: HTMLFormElement;
  readonly #errors: FieldErrors;
  readonly #general = element('p', { className: 'form-error', attrs: { id: 'form-error', role: 'alert' } });
  readonly #ownerKind = element('select', { attrs: { id: 'owner-kind', name: 'owner-kind' } });
  readonly #ownerName = textInput('owner-name', { autocomplete: 'name', maxlength: '120' });
  readonly #email = textInput('email', { type: 'email', autocomplete: 'email', inputmode: 'email', autocapitalize: 'none', spellcheck: 'false', maxlength: '254' });
  readonly #phone = textInput('phone', { type: 'tel', autocomplete: 'tel', inputmode: 'tel', maxlength: '20' });
  readonly #address = element('textarea', { attrs: { id: 'address', name: 'address', rows: '3', autocomplete: 'street-address', maxlength: '300' } });
  readonly #lat = textInput('lat', { type: 'number', step: 'any', min: '-90', max: '90', inputmode: 'decimal', autocomplete: 'off' });
  readonly #lng = textInput('lng', { type: 'number', step: 'any', min: '-180', max: '180', inputmode: 'decimal', autocomplete: 'off' });
  readonly #cameraName = textInput('camera-name', { autocomplete: 'off', maxlength: '80' });
  readonly #url = textInput('camera-url', { type: 'url', inputmode: 'url', placeholder: 'rtsp://…', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '512' });
  readonly #username = textInput('camera-username', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64' });
  readonly #passwordInput: HTMLInputElement;
  readonly #category = element('select', { attrs: { id: 'category', name: 'category' } });
  readonly #sharing: HTMLInputElement[] = [];
  readonly #agreementBox = element('div', { className: 'agreement', attrs: { id: 'agreement', 'aria-busy': 'true' } });
  readonly #agreementAccept = element('input', { attrs: { type: 'checkbox', id: 'agreement-accept', name: 'agreement-accept' } });
  readonly #check = element('div', { className: 'check', attrs: { id: 'check-result', role: 'status', 'aria-live': 'polite' } });
  readonly #submit = element('button', { className: 'primary', attrs: { type: 'submit', id: 'submit' } });
  readonly #submitUnreachable = element('button', { className: 'secondary', attrs: { type: 'button', id: 'submit-unreachable' } });
  #agreement: AgreementView | undefined;
  #agreementRequest = 0;
  #busy = false;

  constructor(
    private readonly translator: Translator,
    private readonly api: EnrolmentApi,
    private readonly onReceipt: (receipt: EnrolmentReceipt) => void,
  ) {
    const t = translator;
    this.#errors = new FieldErrors(t, this.#general);
    const password = passwordInput(t, 'camera-password');
    this.#passwordInput = password.input;
    this.element = element('form', { className: 'enrol-form', attrs: { id: 'enrol-form', novalidate: '', 'aria-describedby': 'form-error' } });

    for (const kind of ['person', 'organisation'] as const) {
      this.#ownerKind.append(t.text(element('option', { attrs: { value: kind } }), `owner.kind.${kind}`));
    }
    this.#category.append(t.text(element('option', { attrs: { value: '' } }), 'camera.categoryChoose'));
    for (const category of cameraCategories) this.#category.append(t.text(element('option', { attrs: { value: category } }), `category.${category}`));

    const location = new LocationFinder(t, this.#lat, this.#lng);
    const e = this.#errors;
    const owner = section(t, 'section.owner', [
      field(t, this.#ownerKind, 'owner.kind'),
      e.slot('owner.kind', [this.#ownerKind]),
      field(t, this.#ownerName, 'owner.name'),
      e.slot('owner.name', [this.#ownerName]),
    ]);
    const contact = section(t, 'section.contact', [
      t.text(element('p', { className: 'hint', attrs: { id: 'contact-hint' } }), 'contact.hint'),
      field(t, this.#email, 'contact.email'),
      e.slot('contact.email', [this.#email]),
      field(t, this.#phone, 'contact.phone', 'contact.phoneHint'),
      e.slot('contact.phone', [this.#phone]),
      e.slot('contact', [this.#email, this.#phone]),
    ]);
    const place = section(t, 'section.location', [
      field(t, this.#address, 'address.label', 'address.hint'),
      e.slot('address', [this.#address]),
      location.button,
      location.status,
      t.text(element('p', { className: 'hint' }), 'location.hint'),
      element('div', { className: 'pair' }, [
        element('div', {}, [field(t, this.#lat, 'location.lat'), e.slot('location.lat', [this.#lat])]),
        element('div', {}, [field(t, this.#lng, 'location.lng'), e.slot('location.lng', [this.#lng])]),
      ]),
      e.slot('location', [this.#lat, this.#lng]),
    ]);
    const credentials = element('fieldset', { className: 'sub' }, [
      t.text(element('legend'), 'camera.credentials'),
      t.text(element('p', { className: 'hint' }), 'camera.credentialsHint'),
      field(t, this.#username, 'camera.username'),
      e.slot('camera.credentials.username', [this.#username]),
      field(t, password.input, 'camera.password', undefined, password.row),
      e.slot('camera.credentials.password', [password.input]),
      e.slot('camera.credentials', [password.input, this.#username]),
    ]);
    const camera = section(t, 'section.camera', [
      field(t, this.#cameraName, 'camera.name', 'camera.nameHint'),
      e.slot('camera.name', [this.#cameraName]),
      field(t, this.#category, 'camera.category'),
      e.slot('camera.category', [this.#category]),
      field(t, this.#url, 'camera.url', 'camera.urlHint'),
      e.slot('camera.url', [this.#url]),
      credentials,
    ]);

    const sharingCards = sharingModes.map((mode) => {
      const card = radioCard(t, { name: 'sharing', value: mode, id: `sharing-option-${mode}`, title: `sharing.${mode}`, help: `sharing.${mode}Help` });
      this.#sharing.push(card.radio);
      return card.label;
    });
    const sharing = section(t, 'section.sharing', [
      element('div', { className: 'choices', attrs: { role: 'radiogroup' } }, sharingCards),
      e.slot('sharing', this.#sharing),
      t.text(element('p', { className: 'hint' }), 'sharing.changeLater'),
    ]);

    const agreement = section(t, 'section.agreement', [
      this.#agreementBox,
      e.slot('agreement', [this.#agreementBox]),
      element('label', { className: 'choice accept', attrs: { for: 'agreement-accept' } }, [
        this.#agreementAccept,
        t.text(element('span', { className: 'choice-title' }), 'agreement.accept'),
      ]),
      e.slot('agreement.accepted', [this.#agreementAccept]),
    ]);

    t.text(this.#submit, 'submit.send');
    t.text(this.#submitUnreachable, 'submit.unreachable');
    this.#submitUnreachable.hidden = true;
    this.#check.hidden = true;
    this.#general.hidden = true;
    this.element.append(
      owner,
      contact,
      place,
      camera,
      sharing,
      agreement,
      this.#check,
      this.#general,
      element('div', { className: 'actions' }, [this.#submit, this.#submitUnreachable]),
      t.text(element('p', { className: 'hint privacy' }), 'enrol.privacy'),
    );

    this.#watch();
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#send(false);
    });
    this.#submitUnreachable.addEventListener('click', () => void this.#send(true));
    t.onChange(() => void this.loadAgreement());
  }

  /** Fetches the agreement in the page's language; a new version must be accepted again. */
  async loadAgreement(): Promise<void> {
    const t = this.translator;
    const request = ++this.#agreementRequest;
    this.#agreementBox.setAttribute('aria-busy', 'true');
    this.#agreementBox.replaceChildren(t.text(element('p', { className: 'hint' }), 'agreement.loading'));
    try {
      const agreement = await this.api.agreement(t.language);
      if (request !== this.#agreementRequest) return;
      if (this.#agreement && this.#agreement.version !== agreement.version) this.#agreementAccept.checked = false;
      this.#agreement = agreement;
      this.#errors.clear('agreement');
      const text = element('div', { className: 'agreement-text', attrs: { id: 'agreement-text', tabindex: '0', role: 'region' } });
      t.attr(text, 'aria-label', 'agreement.textLabel');
      text.append(...agreementNodes(agreement.text));
      this.#agreementBox.replaceChildren(
        t.literal(element('h3', { attrs: { id: 'agreement-title' } }), agreement.title),
        t.text(element('p', { className: 'hint', attrs: { id: 'agreement-version', 'data-version': agreement.version } }), 'agreement.version', { version: agreement.version }),
        text,
      );
    } catch {
      if (request !== this.#agreementRequest) return;
      this.#agreement = undefined;
      const retry = t.text(element('button', { className: 'secondary', attrs: { type: 'button', id: 'agreement-retry' } }), 'agreement.retry');
      retry.addEventListener('click', () => void this.loadAgreement());
      this.#agreementBox.replaceChildren(t.text(element('p', { className: 'field-error' }), 'agreement.failed'), retry);
    } finally {
      if (request === this.#agreementRequest) this.#agreementBox.setAttribute('aria-busy', 'false');
    }
  }

  async #send(submitUnreachable: boolean): Promise<void> {
    if (this.#busy) return;
    this.#errors.clearAll();
    if (!submitUnreachable) this.#showCheck(undefined);
    const { issues, body } = validateEnrolment(this.#values(submitUnreachable));
    if (!body) {
      this.#errors.showAll(issues);
      this.translator.text(this.#general, 'err.summary');
      this.#general.hidden = false;
      this.#errors.focusFirst();
      return;
    }
    this.#setBusy(true);
    this.#showCheck('checking');
    try {
      const receipt = await this.api.submit(body);
      this.onReceipt(receipt);
    } catch (error) {
      this.#showCheck(undefined);
      this.#refused(error);
    } finally {
      this.#setBusy(false);
    }
  }

  #refused(error: unknown): void {
    if (error instanceof EnrolmentApiError && error.check === 'unauthorized') {
      this.#showCheck('unauthorized');
      this.#errors.show('camera.credentials', 'check.unauthorized');
      this.#passwordInput.focus({ preventScroll: true });
      this.#passwordInput.scrollIntoView({ block: 'center', behavior: 'smooth' });
      return;
    }
    if (error instanceof EnrolmentApiError && error.check === 'unreachable') {
      this.#showCheck('unreachable');
      this.#submitUnreachable.hidden = false;
      this.#check.scrollIntoView({ block: 'center', behavior: 'smooth' });
      return;
    }
    showRequestError(this.translator, this.#errors, this.#general, error);
  }

  /** The camera check's line: checking, or why the server refused; undefined hides it. */
  #showCheck(result: 'checking' | 'unauthorized' | 'unreachable' | undefined): void {
    if (result !== 'unreachable') this.#submitUnreachable.hidden = true;
    showCheckLine(this.translator, this.#check, result, `check.${result ?? 'checking'}`);
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    this.element.setAttribute('aria-busy', String(busy));
    this.#submit.disabled = busy;
    this.#submitUnreachable.disabled = busy;
    this.#submit.classList.toggle('busy', busy);
    this.translator.text(this.#submit, busy ? 'submit.checking' : 'submit.send');
  }

  #values(submitUnreachable: boolean): EnrolmentValues {
    return {
      language: this.translator.language,
      ownerKind: this.#ownerKind.value,
      ownerName: this.#ownerName.value,
      email: this.#email.value,
      phone: this.#phone.value,
      address: this.#address.value,
      lat: { value: this.#lat.value, badInput: this.#lat.validity.badInput },
      lng: { value: this.#lng.value, badInput: this.#lng.validity.badInput },
      cameraName: this.#cameraName.value,
      url: this.#url.value,
      username: this.#username.value,
      password: this.#passwordInput.value,
      category: this.#category.value,
      sharing: this.#sharing.find((radio) => radio.checked)?.value,
      agreementVersion: this.#agreement?.version,
      agreementAccepted: this.#agreementAccept.checked,
      submitUnreachable,
    };
  }

  /** Editing a field clears its message; editing the camera's URL or credentials voids the last check. */
  #watch(): void {
    const clears: Array<[HTMLElement[], string[]]> = [
      [[this.#ownerKind], ['owner.kind']],
      [[this.#ownerName], ['owner.name']],
      [[this.#email], ['contact.email', 'contact']],
      [[this.#phone], ['contact.phone', 'contact']],
      [[this.#address], ['address']],
      [[this.#lat], ['location.lat', 'location']],
      [[this.#lng], ['location.lng', 'location']],
      [[this.#cameraName], ['camera.name']],
      [[this.#category], ['camera.category']],
      [[this.#url], ['camera.url']],
      [[this.#username], ['camera.credentials.username', 'camera.credentials']],
      [[this.#passwordInput], ['camera.credentials.password', 'camera.credentials']],
      [this.#sharing, ['sharing']],
      [[this.#agreementAccept], ['agreement.accepted']],
    ];
    for (const [controls, paths] of clears) {
      for (const control of controls) {
        const clear = (): void => {
          for (const path of paths) this.#errors.clear(path);
          if (control === this.#url || control === this.#username || control === this.#passwordInput) {
            if (!this.#busy) this.#showCheck(undefined);
          }
        };
        control.addEventListener('input', clear);
        control.addEventListener('change', clear);
      }
    }
    // Coordinates filled by the location button count as an edit.
    this.#lat.addEventListener('coordinates', () => {
      for (const path of ['location.lat', 'location.lng', 'location']) this.#errors.clear(path);
    });
  }
}
