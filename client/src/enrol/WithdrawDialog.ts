import { element } from '../dom.ts';
import { FieldErrors } from './FieldErrors.ts';
import { field } from './fields.ts';
import { showRequestError } from './requestErrors.ts';
import type { Translator } from './Translator.ts';
import { validateReason } from './validation.ts';

/**
 * "Withdraw my camera?": a modal dialog asking to confirm, with an optional reason. `withdraw`
 * does the request; when it throws, the dialog stays open and says why.
 */
export class WithdrawDialog {
  readonly element: HTMLDialogElement;
  readonly #reason = element('textarea', { attrs: { id: 'withdraw-reason', name: 'reason', rows: '3', maxlength: '300' } });
  readonly #confirm = element('button', { className: 'danger', attrs: { type: 'button', id: 'withdraw-confirm' } });
  readonly #cancel = element('button', { className: 'secondary', attrs: { type: 'button', id: 'withdraw-cancel' } });
  readonly #general = element('p', { className: 'form-error', attrs: { id: 'withdraw-error', role: 'alert' } });
  readonly #errors: FieldErrors;
  #busy = false;

  constructor(
    private readonly translator: Translator,
    private readonly withdraw: (reason: string | undefined) => Promise<void>,
  ) {
    const t = translator;
    this.#errors = new FieldErrors(t, this.#general);
    this.#general.hidden = true;
    t.text(this.#confirm, 'withdraw.confirm');
    t.text(this.#cancel, 'withdraw.cancel');
    const title = t.text(element('h2', { attrs: { id: 'withdraw-title' } }), 'withdraw.title');
    this.element = element('dialog', { className: 'dialog', attrs: { id: 'withdraw-dialog', 'aria-labelledby': 'withdraw-title', 'aria-describedby': 'withdraw-text' } }, [
      title,
      t.text(element('p', { attrs: { id: 'withdraw-text' } }), 'withdraw.text'),
      field(t, this.#reason, 'withdraw.reason'),
      this.#errors.slot('reason', [this.#reason]),
      this.#general,
      element('div', { className: 'actions' }, [this.#confirm, this.#cancel]),
    ]);
    this.#cancel.addEventListener('click', () => this.close());
    this.#confirm.addEventListener('click', () => void this.#submit());
    this.#reason.addEventListener('input', () => this.#errors.clear('reason'));
    // Escape closes the dialog, except while the request is on its way.
    this.element.addEventListener('cancel', (event) => {
      if (this.#busy) event.preventDefault();
    });
  }

  open(): void {
    this.#errors.clearAll();
    this.#reason.value = '';
    this.element.showModal();
    this.#cancel.focus();
  }

  close(): void {
    if (this.element.open) this.element.close();
  }

  async #submit(): Promise<void> {
    if (this.#busy) return;
    this.#errors.clearAll();
    const { issues, reason } = validateReason(this.#reason.value);
    if (issues.length > 0) {
      this.#errors.showAll(issues);
      this.#errors.focusFirst();
      return;
    }
    this.#setBusy(true);
    try {
      await this.withdraw(reason);
      this.close();
    } catch (error) {
      showRequestError(this.translator, this.#errors, this.#general, error);
    } finally {
      this.#setBusy(false);
    }
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    this.#confirm.disabled = busy;
    this.#cancel.disabled = busy;
    this.translator.text(this.#confirm, busy ? 'common.saving' : 'withdraw.confirm');
  }
}
