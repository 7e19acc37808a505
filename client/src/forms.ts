/**
 * Small form helpers for the incident panels (no framework): labelled fields with unique ids,
 * selects, a status line for the server's messages, buttons that wait for their request, and
 * list updates that keep the keyboard focus where it was.
 */
import { element } from './dom.ts';
import { errorText } from './IncidentsApi.ts';

let serial = 0;

/** A page-unique id for a control (labels point at it). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${++serial}`;
}

/** A <label> and its control, stacked in a `.field`. The control gets an id if it has none. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLDivElement {
  if (!control.id) control.id = uniqueId('field');
  const children: Array<Node> = [element('label', { text: label, attrs: { for: control.id } }), control];
  if (hint) {
    const hintEl = element('span', { className: 'field-hint', text: hint, attrs: { id: `${control.id}-hint` } });
    control.setAttribute('aria-describedby', hintEl.id);
    children.push(hintEl);
  }
  return element('div', { className: 'field' }, children);
}

export function input(attrs: Record<string, string> = {}): HTMLInputElement {
  return element('input', { className: 'form-input', attrs: { type: 'text', autocomplete: 'off', ...attrs } });
}

export function textarea(attrs: Record<string, string> = {}): HTMLTextAreaElement {
  return element('textarea', { className: 'form-input', attrs: { rows: '2', ...attrs } });
}

export function select(options: Array<[value: string, text: string]>, attrs: Record<string, string> = {}): HTMLSelectElement {
  const el = element('select', { className: 'form-input', attrs });
  setOptions(el, options);
  return el;
}

/** Replaces a select's options, keeping the chosen value when it is still offered. */
export function setOptions(el: HTMLSelectElement, options: Array<[value: string, text: string]>): void {
  const current = el.value;
  el.replaceChildren(
    ...options.map(([value, text]) => {
      const option = element('option', { text });
      option.value = value;
      return option;
    }),
  );
  if (options.some(([value]) => value === current)) el.value = current;
}

export function button(text: string, attrs: Record<string, string> = {}, className = 'form-button'): HTMLButtonElement {
  return element('button', { className, text, attrs: { type: 'button', ...attrs } });
}

/** The line under a form where the server's answer (or a mistake in the form) is shown. */
export class StatusLine {
  readonly el: HTMLParagraphElement;

  constructor() {
    this.el = element('p', { className: 'form-status', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.el.hidden = true;
  }

  error(message: string): void {
    this.#show(capitalise(message), 'error');
  }

  /** A sentence of ours (not capitalised: it may start with a camera code). */
  info(message: string): void {
    this.#show(message, 'info');
  }

  clear(): void {
    this.el.textContent = '';
    this.el.hidden = true;
  }

  #show(text: string, kind: 'error' | 'info'): void {
    this.el.textContent = text;
    this.el.dataset.kind = kind;
    this.el.hidden = false;
  }
}

/**
 * Runs a request for a button: the button is disabled meanwhile (no double submission), a failure
 * shows the server's message on `status`. Resolves with the result, or undefined when it failed.
 */
export async function busy<T>(control: HTMLButtonElement, status: StatusLine, action: () => Promise<T>): Promise<T | undefined> {
  if (control.disabled) return undefined;
  control.disabled = true;
  control.setAttribute('aria-busy', 'true');
  status.clear();
  try {
    return await action();
  } catch (error) {
    status.error(errorText(error));
    return undefined;
  } finally {
    control.disabled = false;
    control.removeAttribute('aria-busy');
  }
}

/**
 * Replaces a container's children; if the focus was on an element with `data-focus-key` inside it,
 * the new element with the same key gets the focus (a list redrawn under the keyboard user).
 */
export function replaceKeepingFocus(container: HTMLElement, children: Node[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren(...children);
  if (key === undefined) return;
  const again = Array.from(container.querySelectorAll<HTMLElement>('[data-focus-key]')).find((el) => el.dataset.focusKey === key);
  again?.focus();
}

export function capitalise(text: string): string {
  const trimmed = text.trim();
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
}

/** "public_order" -> "Public order". */
export function humanise(code: string): string {
  return capitalise(code.replace(/_/g, ' '));
}

/** A short local date and time for an ISO timestamp ("30 Nov 17:20"). */
export function shortTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** 80 -> "80 m", 1530 -> "1.5 km". */
export function distance(metres: number | undefined): string {
  if (metres === undefined || !Number.isFinite(metres)) return '';
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
}

/** A button that shows and hides `panel` (aria-expanded kept right); `onOpen` runs at each opening. */
export function disclose(control: HTMLButtonElement, panel: HTMLElement, onOpen?: () => void): void {
  if (!panel.id) panel.id = uniqueId('panel');
  control.setAttribute('aria-controls', panel.id);
  control.setAttribute('aria-expanded', String(!panel.hidden));
  control.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    control.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) {
      onOpen?.();
      panel.querySelector<HTMLElement>('input:not([type="hidden"]):not(:disabled), select, textarea')?.focus();
    }
  });
}
