/**
 * Shows alarm devices' new HTTP keys, once: a modal dialog with each key, a copy button and a
 * clear warning that the key cannot be shown again. Closing the dialog removes it (and the keys)
 * from the page; nothing keeps them.
 */
import { element } from './dom.ts';
import { button, StatusLine } from './forms.ts';

export class AlarmKeyDialog {
  readonly el: HTMLDialogElement;
  readonly #status = new StatusLine();

  /** Opens the dialog over the page; `title` says what happened ("Device BTN-1 created"). */
  static show(title: string, keys: Array<{ code: string; httpKey: string }>): AlarmKeyDialog {
    const dialog = new AlarmKeyDialog(title, keys);
    document.body.append(dialog.el);
    if (typeof dialog.el.showModal === 'function') dialog.el.showModal();
    else dialog.el.setAttribute('open', '');
    dialog.el.querySelector<HTMLButtonElement>('[data-action="copy-key"]')?.focus();
    return dialog;
  }

  private constructor(title: string, keys: Array<{ code: string; httpKey: string }>) {
    const heading = element('h2', { text: title, attrs: { id: 'alarm-key-dialog-title' } });
    const rows = keys.map(({ code, httpKey }) => {
      const value = element('code', { className: 'alarm-key-value', text: httpKey, attrs: { 'data-code': code } });
      const copy = button('Copy', { 'data-action': 'copy-key', 'data-code': code, 'aria-label': `Copy the key of ${code}` }, 'form-button small');
      copy.addEventListener('click', () => void this.#copy(httpKey, value, `The key of ${code} was copied.`));
      return element('li', { className: 'alarm-key' }, [element('span', { className: 'camera-code', text: code }), value, copy]);
    });
    const actions: HTMLElement[] = [];
    if (keys.length > 1) {
      const copyAll = button('Copy all (code,key)', { 'data-action': 'copy-all-keys' }, 'form-button');
      copyAll.addEventListener('click', () => void this.#copy(keys.map((k) => `${k.code},${k.httpKey}`).join('\n'), undefined, `${keys.length} keys were copied.`));
      actions.push(copyAll);
    }
    const done = button('I have saved the key, close', { 'data-action': 'close-key-dialog' }, 'form-button primary');
    done.addEventListener('click', () => this.el.close());
    actions.push(done);
    this.el = element('dialog', { className: 'alarm-key-dialog', attrs: { id: 'alarm-key-dialog', 'aria-labelledby': heading.id } }, [
      heading,
      element('p', {
        className: 'alarm-key-warning',
        text:
          keys.length === 1
            ? 'This key is shown once. Copy it now and set it in the device: it cannot be shown again (rotate the key to get a new one).'
            : 'These keys are shown once. Copy them now and set each in its device: they cannot be shown again (rotate a key to get a new one).',
      }),
      element('ul', { className: 'alarm-key-list' }, rows),
      element('div', { className: 'form-actions' }, actions),
      this.#status.el,
    ]);
    // Closed (button or Escape): the keys leave the page.
    this.el.addEventListener('close', () => this.el.remove());
  }

  async #copy(text: string, shown: HTMLElement | undefined, done: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.#status.info(done);
    } catch {
      // No clipboard access (not a secure context, or refused): select the key for Ctrl+C.
      if (shown) {
        const range = document.createRange();
        range.selectNodeContents(shown);
        const selection = window.getSelection();
        selection?.removeAllRanges();
        selection?.addRange(range);
      }
      this.#status.error(shown ? 'the browser refused to copy: the key is selected, press Ctrl+C' : 'the browser refused to copy: copy the keys one by one');
    }
  }
}
