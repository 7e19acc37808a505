import type { EnrolmentReceipt } from '../../../server/enrolment/enrolmentSchemas.ts';
import { element } from '../dom.ts';
import { liveLine } from './fields.ts';
import type { Translator } from './Translator.ts';

/**
 * The screen after a stored enrolment: the reference, the camera check, the status, and the owner's
 * private status link, shown this once (the server keeps only its hash) with a copy button.
 */
export class ReceiptView {
  readonly element: HTMLElement;

  constructor(translator: Translator, receipt: EnrolmentReceipt) {
    const t = translator;
    const link = `${location.origin}${receipt.statusPath}`;
    const heading = t.text(element('h1', { attrs: { tabindex: '-1' } }), 'receipt.heading');
    const linkInput = element('input', {
      attrs: { id: 'status-link', type: 'text', readonly: '', value: link, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'status-link-warning' },
    });
    t.attr(linkInput, 'aria-label', 'receipt.linkLabel');
    const copied = liveLine('copy-result');
    const copy = t.text(element('button', { className: 'primary', attrs: { type: 'button', id: 'copy-status-link' } }), 'receipt.copy');
    copy.addEventListener('click', () => void copyLink(link, linkInput).then((ok) => t.text(copied, ok ? 'receipt.copied' : 'receipt.copyFailed')));
    linkInput.addEventListener('focus', () => linkInput.select());

    const summary = element('dl', { className: 'facts' }, [
      t.text(element('dt'), 'receipt.reference'),
      element('dd', { className: 'reference', text: receipt.reference, attrs: { id: 'reference' } }),
      t.text(element('dt'), 'receipt.check'),
      t.text(element('dd', { attrs: { id: 'receipt-check', 'data-result': receipt.check.result } }), `checkResult.${receipt.check.result}`),
      t.text(element('dt'), 'receipt.status'),
      t.text(element('dd', { attrs: { id: 'receipt-status', 'data-status': receipt.status } }), `status.${receipt.status}`),
    ]);
    const open = t.text(element('a', { className: 'button-link', attrs: { href: receipt.statusPath, id: 'status-open', rel: 'noreferrer' } }), 'receipt.open');

    this.element = element('section', { className: 'receipt', attrs: { id: 'receipt', 'aria-labelledby': 'receipt-heading' } }, [
      element('div', { className: 'card success' }, [heading, summary, t.text(element('p'), 'receipt.next')]),
      element('div', { className: 'card secret' }, [
        t.text(element('h2'), 'receipt.linkHeading'),
        t.text(element('p', { className: 'warning', attrs: { id: 'status-link-warning' } }), 'receipt.linkWarning'),
        linkInput,
        element('div', { className: 'actions' }, [copy, open]),
        copied,
      ]),
    ]);
    heading.id = 'receipt-heading';
  }

  /** Moves the focus (and the screen reader) to the receipt's heading. */
  focus(): void {
    window.scrollTo({ top: 0 });
    this.element.querySelector<HTMLElement>('h1')?.focus();
  }
}

/** The Clipboard API needs a secure context; otherwise select the text and use the old command. */
async function copyLink(link: string, input: HTMLInputElement): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(link);
      return true;
    }
  } catch {
    // fall through to the selection
  }
  input.focus();
  input.select();
  input.setSelectionRange(0, link.length);
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}
