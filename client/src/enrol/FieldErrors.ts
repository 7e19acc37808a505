import type { ServerIssue } from './EnrolmentApiError.ts';
import type { Translator } from './Translator.ts';
import type { Issue } from './validation.ts';

interface FieldSlot {
  /** `<p data-field-error="camera.url">`, the message shown under the field. */
  message: HTMLElement;
  /** The controls it describes: marked aria-invalid, the first one focused. */
  controls: HTMLElement[];
}

/**
 * The messages shown by the fields, by request-body path (`camera.url`). A server issue whose path
 * has no slot of its own goes to its nearest registered parent (`camera.credentials.username` to
 * `camera.credentials`), and to the form's general message (`#form-error`) when none matches.
 */
export class FieldErrors {
  readonly #slots = new Map<string, FieldSlot>();

  constructor(
    private readonly translator: Translator,
    private readonly general: HTMLElement,
  ) {}

  /** A message element for the path, described by (aria-describedby) the controls. */
  slot(path: string, controls: HTMLElement[]): HTMLElement {
    const id = `error-${path.replace(/[^\w-]/g, '-')}`;
    const message = document.createElement('p');
    message.className = 'field-error';
    message.id = id;
    message.dataset.fieldError = path;
    message.hidden = true;
    for (const control of controls) {
      const describedBy = control.getAttribute('aria-describedby');
      control.setAttribute('aria-describedby', describedBy ? `${describedBy} ${id}` : id);
    }
    this.#slots.set(path, { message, controls });
    return message;
  }

  show(path: string, key: Issue['key'], params?: Issue['params']): void {
    const slot = this.#slots.get(this.#resolve(path) ?? '');
    if (!slot) {
      this.translator.text(this.general, key, params);
      this.general.hidden = false;
      return;
    }
    this.translator.text(slot.message, key, params);
    slot.message.hidden = false;
    for (const control of slot.controls) control.setAttribute('aria-invalid', 'true');
  }

  showAll(issues: Issue[]): void {
    for (const issue of issues) this.show(issue.path, issue.key, issue.params);
  }

  /**
   * The server's field errors, in the page's language where we know the field (its words are
   * English); those naming no field of ours are listed in the general message as the server wrote them.
   * Returns how many found a field.
   */
  showServer(issues: ServerIssue[]): number {
    let placed = 0;
    const unplaced: string[] = [];
    for (const issue of issues) {
      const path = this.#resolve(issue.path);
      if (path === undefined) unplaced.push(issue.path ? `${issue.path}: ${issue.message}` : issue.message);
      else {
        this.show(path, 'err.invalid');
        const slot = this.#slots.get(path);
        if (slot && issue.message) slot.message.title = issue.message;
        placed++;
      }
    }
    if (unplaced.length > 0) {
      this.translator.text(this.general, 'err.refused', { message: unplaced.join('; ') });
      this.general.hidden = false;
    }
    return placed;
  }

  clear(path: string): void {
    const slot = this.#slots.get(path);
    if (!slot) return;
    this.translator.clear(slot.message);
    slot.message.hidden = true;
    slot.message.removeAttribute('title');
    for (const control of slot.controls) control.removeAttribute('aria-invalid');
  }

  clearAll(): void {
    for (const path of this.#slots.keys()) this.clear(path);
    this.translator.clear(this.general);
    this.general.hidden = true;
  }

  /** Moves the focus to the first control (in page order) that has a message. */
  focusFirst(): void {
    const invalid = [...this.#slots.values()]
      .filter((slot) => !slot.message.hidden)
      .flatMap((slot) => slot.controls.slice(0, 1))
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    const first = invalid[0];
    if (first) {
      first.focus({ preventScroll: true });
      first.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  }

  #resolve(path: string): string | undefined {
    for (let candidate = path; candidate; candidate = candidate.includes('.') ? candidate.slice(0, candidate.lastIndexOf('.')) : '') {
      if (this.#slots.has(candidate)) return candidate;
    }
    return undefined;
  }
}
