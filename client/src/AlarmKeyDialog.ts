/**
 * Shows alarm devices' new keys, once: a modal dialog with each key (a device's HTTP key, an alarm
 * panel's SIA DC-09 AES key), labelled, with a copy button and a clear warning that the key cannot
 * be shown again. Closing the dialog removes it (and the keys) from the page; nothing keeps them.
 */
import { element } from './dom.ts';
import { button, StatusLine } from './forms.ts';
import type { AlarmDeviceKeys } from './AlarmsApi.ts';

/** 32/48/64 hex digits: the AES key size of a DC-09 key. */
const DC09_KEY_BITS: Record<number, string> = { 32: 'AES-128', 48: 'AES-192', 64: 'AES-256' };

export class AlarmKeyDialog {
  readonly el: HTMLDialogElement;
  readonly #status = new StatusLine();

  /** Opens the dialog over the page; `title` says what happened ("Device BTN-1 created"). */
  static show(title: string, keys: AlarmDeviceKeys[]): AlarmKeyDialog {
    const dialog = new AlarmKeyDialog(title, keys);
    document.body.append(dialog.el);
    if (typeof dialog.el.showModal === 'function') dialog.el.showModal();
    else dialog.el.setAttribute('open', '');
    dialog.el.querySelector<HTMLButtonElement>('.alarm-key button')?.focus();
    return dialog;
  }

  private constructor(title: string, devices: AlarmDeviceKeys[]) {
    const heading = element('h2', { text: title, attrs: { id: 'alarm-key-dialog-title' } });
    const rows: HTMLLIElement[] = [];
    for (const { code, httpKey, dc09Key } of devices) {
      if (httpKey) rows.push(this.#row(code, 'http', 'HTTP key', httpKey));
      if (dc09Key) {
        const bits = DC09_KEY_BITS[dc09Key.length];
        rows.push(this.#row(code, 'dc09', `SIA DC-09 key${bits ? ` (${bits})` : ''}`, dc09Key));
      }
    }
    const actions: HTMLElement[] = [];
    if (devices.length > 1) {
      const anyDc09 = devices.some((d) => d.dc09Key);
      const copyAll = button(anyDc09 ? 'Copy all (code,http_key,dc09_key)' : 'Copy all (code,key)', { 'data-action': 'copy-all-keys' }, 'form-button');
      const text = devices.map((d) => (anyDc09 ? `${d.code},${d.httpKey ?? ''},${d.dc09Key ?? ''}` : `${d.code},${d.httpKey ?? ''}`)).join('\n');
      copyAll.addEventListener('click', () => void this.#copy(text, undefined, `${rows.length} keys were copied.`));
      actions.push(copyAll);
    }
    const done = button(rows.length === 1 ? 'I have saved the key, close' : 'I have saved the keys, close', { 'data-action': 'close-key-dialog' }, 'form-button primary');
    done.addEventListener('click', () => this.el.close());
    actions.push(done);
    this.el = element('dialog', { className: 'alarm-key-dialog', attrs: { id: 'alarm-key-dialog', 'aria-labelledby': heading.id } }, [
      heading,
      element('p', {
        className: 'alarm-key-warning',
        text:
          rows.length === 1
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

  /** One key: the device's code, what key it is, the key, and its copy button. */
  #row(code: string, kind: 'http' | 'dc09', label: string, key: string): HTMLLIElement {
    const value = element('code', { className: 'alarm-key-value', text: key, attrs: { 'data-code': code, 'data-key': kind } });
    const what = kind === 'http' ? 'HTTP key' : 'DC-09 key';
    const copy = button(
      'Copy',
      { 'data-action': kind === 'http' ? 'copy-key' : 'copy-dc09-key', 'data-code': code, 'aria-label': `Copy the ${what} of ${code}` },
      'form-button small',
    );
    copy.addEventListener('click', () => void this.#copy(key, value, `The ${what} of ${code} was copied.`));
    return element('li', { className: 'alarm-key', attrs: { 'data-code': code, 'data-key': kind } }, [
      element('span', { className: 'camera-code', text: code }),
      element('span', { className: 'alarm-key-label', text: label }),
      value,
      copy,
    ]);
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
