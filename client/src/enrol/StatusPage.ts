import type { OwnerChange, OwnerStatusView } from '../../../server/enrolment/enrolmentSchemas.ts';
import { sharingModes } from './vocabulary.ts';
import { element } from '../dom.ts';
import type { EnrolmentApi } from './EnrolmentApi.ts';
import { EnrolmentApiError } from './EnrolmentApiError.ts';
import { FieldErrors } from './FieldErrors.ts';
import { field, liveLine, passwordInput, radioCard, section, showCheckLine, textInput } from './fields.ts';
import { showRequestError } from './requestErrors.ts';
import type { TextKey } from './texts.ts';
import type { Translator } from './Translator.ts';
import { sharingMode, validateCameraChange } from './validation.ts';
import { WithdrawDialog } from './WithdrawDialog.ts';

/**
 * The owner's status page (/enrol/status#t=<token>): the enrolment as the agency sees its status,
 * and while it is open (pending or approved) the owner's three actions: change the sharing, give a
 * new URL or credentials (checked like a new enrolment), withdraw. The token lives in this object
 * only; an invalid one (401/404) leaves just the "this link is not valid" message.
 */
export class StatusPage {
  readonly element: HTMLElement;
  readonly #general = element('p', { className: 'form-error', attrs: { id: 'form-error', role: 'alert' } });
  readonly #notice = liveLine('status-notice', 'notice success');
  readonly #loading: HTMLParagraphElement;
  readonly #summary = element('section', { className: 'card summary', attrs: { id: 'status-summary', 'aria-labelledby': 'status-summary-title' } });
  readonly #rejected: HTMLElement;
  readonly #actions = element('div', { className: 'status-actions', attrs: { id: 'status-actions' } });
  readonly #errors: FieldErrors;
  readonly #sharing: HTMLInputElement[] = [];
  readonly #sharingSave = element('button', { className: 'primary', attrs: { type: 'button', id: 'sharing-save' } });
  readonly #url = textInput('update-url', { type: 'url', inputmode: 'url', placeholder: 'rtsp://…', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '512' });
  readonly #username = textInput('update-username', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '64' });
  readonly #password: HTMLInputElement;
  readonly #removeCredentials = element('input', { attrs: { type: 'checkbox', id: 'update-remove-credentials' } });
  readonly #check = element('div', { className: 'check', attrs: { id: 'check-result', role: 'status', 'aria-live': 'polite' } });
  readonly #updateSave = element('button', { className: 'primary', attrs: { type: 'submit', id: 'update-save' } });
  readonly #updateUnreachable = element('button', { className: 'secondary', attrs: { type: 'button', id: 'update-unreachable' } });
  readonly #withdraw = element('button', { className: 'danger', attrs: { type: 'button', id: 'withdraw' } });
  readonly #dialog: WithdrawDialog;
  #token: string | undefined;
  #view: OwnerStatusView | undefined;
  #busy = false;

  constructor(
    private readonly translator: Translator,
    private readonly api: EnrolmentApi,
    token: string | undefined,
    /** No `?lang=` in the address: show the page in the language the owner enrolled in. */
    private readonly adoptLanguage: boolean,
  ) {
    const t = translator;
    this.#token = token;
    this.#errors = new FieldErrors(t, this.#general);
    this.#general.hidden = true;
    this.#loading = t.text(element('p', { className: 'hint', attrs: { id: 'status-loading' } }), 'statusPage.loading');

    const sharingCards = sharingModes.map((mode) => {
      const card = radioCard(t, { name: 'status-sharing', value: mode, id: `sharing-${mode}`, title: `sharing.${mode}`, help: `sharing.${mode}Help` });
      card.radio.addEventListener('change', () => {
        this.#errors.clear('sharing');
        this.#syncSharingSave();
      });
      this.#sharing.push(card.radio);
      return card.label;
    });
    t.text(this.#sharingSave, 'statusPage.sharingSave');
    this.#sharingSave.addEventListener('click', () => void this.#saveSharing());
    const sharing = section(t, 'statusPage.sharingHeading', [
      element('div', { className: 'choices', attrs: { role: 'radiogroup' } }, sharingCards),
      this.#errors.slot('sharing', this.#sharing),
      element('div', { className: 'actions' }, [this.#sharingSave]),
    ]);

    const password = passwordInput(t, 'update-password');
    this.#password = password.input;
    const removeLabel = element('label', { className: 'choice compact', attrs: { for: 'update-remove-credentials' } }, [
      this.#removeCredentials,
      t.text(element('span', { className: 'choice-title' }), 'statusPage.removeCredentials'),
    ]);
    this.#removeCredentials.addEventListener('change', () => {
      this.#username.disabled = this.#password.disabled = this.#removeCredentials.checked;
      this.#errors.clear('credentials');
    });
    t.text(this.#updateSave, 'statusPage.updateSave');
    t.text(this.#updateUnreachable, 'statusPage.updateUnreachable');
    this.#updateUnreachable.hidden = true;
    this.#updateUnreachable.addEventListener('click', () => void this.#saveCamera(true));
    this.#check.hidden = true;
    const update = element('form', { className: 'update-form', attrs: { id: 'update-form', novalidate: '' } }, [
      section(t, 'statusPage.updateHeading', [
        t.text(element('p', { className: 'hint' }), 'statusPage.updateHint'),
        field(t, this.#url, 'statusPage.updateUrl', 'camera.urlHint'),
        this.#errors.slot('url', [this.#url]),
        field(t, this.#username, 'statusPage.updateUsername'),
        this.#errors.slot('credentials.username', [this.#username]),
        field(t, password.input, 'statusPage.updatePassword', undefined, password.row),
        this.#errors.slot('credentials.password', [password.input]),
        removeLabel,
        this.#errors.slot('credentials', [password.input, this.#username]),
        this.#check,
        element('div', { className: 'actions' }, [this.#updateSave, this.#updateUnreachable]),
      ]),
    ]);
    update.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#saveCamera(false);
    });
    for (const [input, paths] of [
      [this.#url, ['url']],
      [this.#username, ['credentials.username', 'credentials']],
      [this.#password, ['credentials.password', 'credentials']],
    ] as const) {
      input.addEventListener('input', () => {
        for (const path of paths) this.#errors.clear(path);
        if (!this.#busy) this.#showCheck(undefined);
      });
    }

    this.#dialog = new WithdrawDialog(t, (reason) => this.#confirmWithdraw(reason));
    t.text(this.#withdraw, 'statusPage.withdraw');
    this.#withdraw.addEventListener('click', () => this.#dialog.open());
    const withdraw = section(t, 'statusPage.withdrawHeading', [
      t.text(element('p', { className: 'hint' }), 'statusPage.withdrawHint'),
      element('div', { className: 'actions' }, [this.#withdraw]),
    ]);

    this.#actions.append(sharing, update, withdraw, this.#dialog.element);
    this.#actions.hidden = true;
    this.#summary.hidden = true;
    this.#rejected = element('div', { className: 'card', attrs: { id: 'status-rejected-note' } }, [
      t.text(element('p'), 'statusPage.rejectedNote'),
      t.text(element('a', { className: 'button-link', attrs: { href: '/enrol' } }), 'statusPage.enrolAgain'),
    ]);
    this.#rejected.hidden = true;

    this.element = element('div', { className: 'status-page' }, [
      t.text(element('h1'), 'statusPage.heading'),
      this.#loading,
      this.#general,
      this.#summary,
      this.#notice,
      this.#rejected,
      this.#actions,
    ]);
    t.onChange(() => {
      if (this.#view) this.#render(this.#view);
    });
  }

  async load(): Promise<void> {
    const token = this.#token;
    if (!token) return this.#invalidLink('statusPage.noToken');
    try {
      const view = await this.api.status(token);
      if (this.adoptLanguage && view.language !== this.translator.language) this.translator.setLanguage(view.language);
      this.#render(view);
    } catch (error) {
      if (!this.#linkRefused(error)) showRequestError(this.translator, this.#errors, this.#general, error);
    } finally {
      this.#loading.hidden = true;
    }
  }

  #render(view: OwnerStatusView): void {
    const t = this.translator;
    const previous = this.#view;
    this.#view = view;
    const date = (iso: string): string => {
      const at = new Date(iso);
      return Number.isNaN(at.getTime()) ? iso : new Intl.DateTimeFormat(t.language, { dateStyle: 'long', timeStyle: 'short' }).format(at);
    };
    // An approved camera the agency suspended: the owner sees that first, with the reason.
    const suspended = view.status === 'approved' && view.cameraStatus === 'suspended';
    const shown = suspended ? 'suspended' : view.status;
    const badge = t.text(element('span', { className: 'badge', attrs: { id: 'status', 'data-status': shown } }), `status.${shown}`);
    const reason = element('p', { className: 'status-reason', attrs: { id: 'status-reason' } });
    if (view.statusReason && (suspended || view.status === 'rejected' || view.status === 'withdrawn' || view.status === 'revoked')) t.text(reason, 'statusPage.reason', { reason: view.statusReason });
    else reason.hidden = true;
    const check = view.check
      ? t.t('statusPage.checkAt', { result: t.t(`checkResult.${view.check.result}`), date: date(view.check.at) })
      : t.t('statusPage.neverChecked');
    const row = (label: TextKey, value: Node | string, id?: string): Node[] => [
      t.text(element('dt'), label),
      element('dd', id ? { attrs: { id } } : {}, [value]),
    ];
    this.#summary.replaceChildren(
      element('h2', { className: 'visually-hidden', attrs: { id: 'status-summary-title' }, text: t.t('statusPage.heading') }),
      element('div', { className: 'status-line' }, [
        element('div', {}, [t.text(element('span', { className: 'label' }), 'statusPage.reference'), element('span', { className: 'reference', text: view.reference, attrs: { id: 'reference' } })]),
        badge,
      ]),
      reason,
      element('dl', { className: 'facts' }, [
        ...row('statusPage.camera', view.cameraName, 'status-camera'),
        ...row('statusPage.category', t.t(`category.${view.category}`)),
        ...row('statusPage.url', element('code', { text: view.url }), 'status-url'),
        ...row('statusPage.lastCheck', check, 'status-check'),
        // A closed enrolment's camera is seen by nobody: its sharing no longer says anything.
        ...(view.status === 'pending' || view.status === 'approved' ? row('statusPage.sharing', t.t(`sharing.${view.sharing}`), 'status-sharing') : []),
        ...row('statusPage.submitted', date(view.submittedAt)),
        // A withdrawn camera is revoked by its owner's own hand: the status above says so already.
        ...(view.status !== 'withdrawn' && view.status !== 'revoked' && !suspended && (view.cameraStatus === 'suspended' || view.cameraStatus === 'revoked')
          ? row('statusPage.cameraStatus', t.t(`cameraStatus.${view.cameraStatus}`), 'status-camera-status')
          : []),
      ]),
    );
    this.#summary.hidden = false;
    const open = view.status === 'pending' || view.status === 'approved';
    this.#actions.hidden = !open;
    this.#rejected.hidden = view.status !== 'rejected';
    if (!open) this.#dialog.close();
    // The radios follow the stored choice, unless the owner is choosing (same view re-rendered).
    if (!previous || previous.sharing !== view.sharing) for (const radio of this.#sharing) radio.checked = radio.value === view.sharing;
    this.#syncSharingSave();
  }

  #syncSharingSave(): void {
    const chosen = this.#sharing.find((radio) => radio.checked)?.value;
    this.#sharingSave.disabled = this.#busy || !chosen || chosen === this.#view?.sharing;
  }

  async #saveSharing(): Promise<void> {
    const sharing = sharingMode(this.#sharing.find((radio) => radio.checked)?.value);
    if (!sharing || !this.#token || this.#busy) return;
    await this.#request(this.#sharingSave, 'common.saving', { sharing }, () => 'statusPage.sharingSaved');
  }

  /** `submitUnreachable`: the owner's "save anyway" after the camera did not answer. */
  async #saveCamera(submitUnreachable: boolean): Promise<void> {
    if (!this.#token || this.#busy) return;
    this.#errors.clearAll();
    this.#showCheck(undefined);
    const { issues, change } = validateCameraChange({
      url: this.#url.value,
      username: this.#username.value,
      password: this.#password.value,
      removeCredentials: this.#removeCredentials.checked,
    });
    if (!change) {
      this.#errors.showAll(issues);
      this.#errors.focusFirst();
      return;
    }
    this.#showCheck('checking');
    const before = this.#view?.status;
    const saved = await this.#request(submitUnreachable ? this.#updateUnreachable : this.#updateSave, 'submit.checking', { ...change, ...(submitUnreachable && { submitUnreachable }) }, (view) =>
      change.url !== undefined && before === 'approved' && view.status === 'pending' ? 'statusPage.updateBackToReview' : 'statusPage.updateSaved',
    );
    if (saved) {
      this.#showCheck(undefined);
      this.#url.value = this.#username.value = this.#password.value = '';
      this.#removeCredentials.checked = false;
      this.#username.disabled = this.#password.disabled = false;
    }
  }

  /** PATCHes the change; on success re-renders and announces `done(view)`. Returns whether it was saved. */
  async #request(button: HTMLButtonElement, busyText: TextKey, change: OwnerChange, done: (view: OwnerStatusView) => TextKey): Promise<boolean> {
    const token = this.#token;
    if (!token) return false;
    const idleText: TextKey =
      button === this.#updateSave ? 'statusPage.updateSave' : button === this.#updateUnreachable ? 'statusPage.updateUnreachable' : 'statusPage.sharingSave';
    this.#errors.clearAll();
    this.translator.clear(this.#notice);
    this.#busy = true;
    button.disabled = true;
    this.translator.text(button, busyText);
    try {
      const view = await this.api.change(token, change);
      this.#render(view);
      this.translator.text(this.#notice, done(view));
      return true;
    } catch (error) {
      this.#showCheck(undefined);
      if (this.#linkRefused(error)) return false;
      if (error instanceof EnrolmentApiError && error.check) {
        this.#showCheck(error.check);
        if (error.check === 'unauthorized') {
          this.#errors.show('credentials', 'check.unauthorized');
          this.#password.focus();
        }
        return false;
      }
      showRequestError(this.translator, this.#errors, this.#general, error);
      return false;
    } finally {
      this.#busy = false;
      button.disabled = false;
      this.translator.text(button, idleText);
      this.#syncSharingSave();
    }
  }

  async #confirmWithdraw(reason: string | undefined): Promise<void> {
    const token = this.#token;
    if (!token) return;
    try {
      const view = await this.api.withdraw(token, reason);
      this.#render(view);
      this.translator.text(this.#notice, 'statusPage.withdrawn');
    } catch (error) {
      if (!this.#linkRefused(error)) throw error;
    }
  }

  #showCheck(result: 'checking' | 'unauthorized' | 'unreachable' | undefined): void {
    this.#updateUnreachable.hidden = result !== 'unreachable';
    showCheckLine(this.translator, this.#check, result, result === 'unreachable' ? 'check.unreachableUpdate' : `check.${result ?? 'checking'}`);
  }

  /** 401/404: the link is wrong or was replaced. Forgets the token and leaves only that message. */
  #linkRefused(error: unknown): boolean {
    if (!(error instanceof EnrolmentApiError) || (error.status !== 401 && error.status !== 404)) return false;
    this.#invalidLink();
    return true;
  }

  /** `why`: the link was refused (default), or the page was opened without its secret (a reload, a bookmark). */
  #invalidLink(why: 'statusPage.invalidLink' | 'statusPage.noToken' = 'statusPage.invalidLink'): void {
    this.#token = undefined;
    this.#view = undefined;
    this.#dialog.close();
    this.#loading.hidden = true;
    this.#summary.hidden = true;
    this.#actions.hidden = true;
    this.#rejected.hidden = true;
    this.translator.clear(this.#notice);
    this.#general.dataset.code = 'invalid_link';
    this.translator.text(this.#general, why);
    this.#general.hidden = false;
  }
}
