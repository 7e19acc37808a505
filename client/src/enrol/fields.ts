/** Building blocks of the two pages' forms: labelled controls with hints, in the page's language. */
import { element } from '../dom.ts';
import type { TextKey } from './texts.ts';
import type { Translator } from './Translator.ts';

/**
 * A control's label and optional hint, stacked above it in a `.field`; the label points at its id.
 * `display` is what is placed (the control itself, or a row holding it).
 */
export function field(translator: Translator, control: HTMLElement, label: TextKey, hint?: TextKey, display: Node = control): HTMLDivElement {
  const children: Node[] = [translator.text(element('label', { attrs: { for: control.id } }), label)];
  if (hint) {
    const hintEl = translator.text(element('p', { className: 'hint', attrs: { id: `${control.id}-hint` } }), hint);
    control.setAttribute('aria-describedby', hintEl.id);
    children.push(hintEl);
  }
  children.push(display);
  return element('div', { className: 'field' }, children);
}

export function textInput(id: string, attrs: Record<string, string> = {}): HTMLInputElement {
  return element('input', { attrs: { id, name: id, type: 'text', ...attrs } });
}

/** A password input and its show/hide button, in one row. */
export function passwordInput(translator: Translator, id: string, autocomplete = 'new-password'): { input: HTMLInputElement; row: HTMLDivElement } {
  const input = textInput(id, { type: 'password', autocomplete, autocapitalize: 'none', spellcheck: 'false', maxlength: '128' });
  const toggle = element('button', { className: 'secondary reveal', attrs: { type: 'button', 'aria-controls': id, 'aria-pressed': 'false' } });
  translator.text(toggle, 'password.show');
  translator.attr(toggle, 'aria-label', 'password.showLabel');
  toggle.addEventListener('click', () => {
    const shown = input.type === 'password';
    input.type = shown ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(shown));
    translator.text(toggle, shown ? 'password.hide' : 'password.show');
  });
  return { input, row: element('div', { className: 'input-row' }, [input, toggle]) };
}

/** A `<fieldset>` with its legend. */
export function section(translator: Translator, legend: TextKey, children: Node[], className = 'card'): HTMLFieldSetElement {
  return element('fieldset', { className }, [translator.text(element('legend'), legend), ...children]);
}

/** One large radio choice: the label wraps the radio, a title and an explanation. */
export function radioCard(
  translator: Translator,
  options: { name: string; value: string; id: string; title: TextKey; help: TextKey },
): { radio: HTMLInputElement; label: HTMLLabelElement } {
  const radio = element('input', { attrs: { type: 'radio', name: options.name, value: options.value, id: options.id, 'aria-describedby': `${options.id}-help` } });
  const label = element('label', { className: 'choice', attrs: { for: options.id } }, [
    radio,
    element('span', { className: 'choice-text' }, [
      translator.text(element('strong', { className: 'choice-title' }), options.title),
      translator.text(element('span', { className: 'choice-help', attrs: { id: `${options.id}-help` } }), options.help),
    ]),
  ]);
  return { radio, label };
}

/** A status line the screen reader announces (`aria-live=polite`), hidden while empty. */
export function liveLine(id: string, className = 'notice'): HTMLParagraphElement {
  return element('p', { className, attrs: { id, role: 'status', 'aria-live': 'polite' } });
}

/**
 * Shows the camera check's line (`data-result` for tests and styles) with its text, or hides and
 * empties it when `result` is undefined.
 */
export function showCheckLine(translator: Translator, line: HTMLElement, result: string | undefined, text: TextKey): void {
  if (!result) {
    line.hidden = true;
    line.removeAttribute('data-result');
    translator.clear(line);
    return;
  }
  line.dataset.result = result;
  line.hidden = false;
  translator.text(line, text);
}
