/**
 * One pending citizen enrolment in the review queue (issue 26): what the citizen submitted (the
 * camera, its category, location, masked URL, sharing consent; the owner's name, contact and
 * address, which are personal data: shown to the admin, never logged), the last check of the
 * camera as a chip, other cameras it duplicates (flagged first), and the admin's actions: Preview
 * (the camera live on the wall, as a review view), Check again, New status link (shown once),
 * Approve (a municipality is required) and Reject (a reason is required).
 *
 * The card does its own requests; the panel hears `preview`, `decided` (approved or rejected: the
 * card leaves the list) and `stale` (another admin decided first, or the enrolment is gone).
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { busy, button, field, humanise, input, shortTime, StatusLine, uniqueId } from './forms.ts';
import { ApiError } from './RestClient.ts';
import type { ReviewApi, ReviewCheck, ReviewDuplicate, ReviewItem } from './ReviewApi.ts';

export interface ReviewCardEvents {
  /** Show this pending camera live on the wall (consumed as a review). */
  preview: [item: ReviewItem];
  /** The enrolment was approved or rejected: it leaves the queue. */
  decided: [item: ReviewItem, decision: 'approved' | 'rejected'];
  /** The server no longer has it pending (another admin decided, or it was withdrawn): reload the list. */
  stale: [];
}

const CHECK_LABEL: Record<ReviewCheck['result'], string> = {
  reachable: 'Reachable',
  unauthorized: 'Wrong credentials',
  unreachable: 'Unreachable',
};

const SHARING_LABEL: Record<string, string> = {
  live: 'Live: operators may watch it at any time',
  'incident-only': 'Only during incidents',
};

/** Answers meaning "this enrolment is not pending any more". */
const STALE_STATUSES = new Set([404, 409]);

export class ReviewCard extends Emitter<ReviewCardEvents> {
  readonly el: HTMLLIElement;
  #item: ReviewItem;
  readonly #info: HTMLDivElement;
  readonly #age: HTMLSpanElement;
  readonly #status = new StatusLine();
  readonly #municipality: HTMLInputElement;
  readonly #reason: HTMLInputElement;
  readonly #linkBox: HTMLDivElement;
  readonly #linkUrl: HTMLInputElement;
  #closed = false;

  /** `municipalityList`: the id of a <datalist> of the known municipalities (suggestions). */
  constructor(
    private readonly api: ReviewApi,
    item: ReviewItem,
    municipalityList: string,
  ) {
    super();
    this.#item = item;
    const reference = item.reference;
    this.#age = element('span', { className: 'review-age' });
    this.#info = element('div', { className: 'review-info' });

    const preview = button('Preview', { 'data-action': 'preview', 'data-focus-key': `${reference}:preview`, title: 'Show this camera live on the selected tile (audited as a review view)' }, 'form-button primary');
    preview.addEventListener('click', () => this.emit('preview', this.#item));
    const check = button('Check again', { 'data-action': 'check', 'data-focus-key': `${reference}:check` });
    check.addEventListener('click', () => void this.#checkAgain(check));
    const link = button('New status link', { 'data-action': 'status-link', 'data-focus-key': `${reference}:status-link`, title: "A new private status link for the owner; the old link stops working" });
    link.addEventListener('click', () => void this.#newStatusLink(link));

    this.#linkUrl = input({ readonly: '', 'aria-label': 'New status link', spellcheck: 'false' });
    this.#linkUrl.classList.add('review-status-url');
    this.#linkUrl.addEventListener('focus', () => this.#linkUrl.select());
    const copy = button('Copy', { 'data-action': 'copy-status-link' }, 'form-button small');
    copy.addEventListener('click', () => void this.#copyLink(copy));
    const done = button('Done', { 'data-action': 'hide-status-link' }, 'form-button small');
    done.addEventListener('click', () => {
      this.#hideLink();
      link.focus();
    });
    this.#linkBox = element('div', { className: 'review-status-link', attrs: { role: 'group', 'aria-label': 'New status link' } }, [
      element('p', { className: 'review-warning', text: 'Shown only now: give this link to the owner. The old link no longer works.' }),
      this.#linkUrl,
      element('div', { className: 'form-actions' }, [copy, done]),
    ]);
    this.#linkBox.hidden = true;

    this.#municipality = input({ maxlength: '100', list: municipalityList, placeholder: 'Municipality', required: '', 'data-focus-key': `${reference}:municipality` });
    this.#municipality.classList.add('review-municipality');
    const approve = button('Approve', { type: 'submit', 'data-action': 'approve', 'data-focus-key': `${reference}:approve` }, 'form-button primary');
    const approveForm = element('form', { className: 'review-decision', attrs: { novalidate: '', 'aria-label': `Approve ${reference}` } }, [
      field('Municipality (required to approve)', this.#municipality),
      approve,
    ]);
    approveForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#approve(approve);
    });

    this.#reason = input({ maxlength: '500', placeholder: 'Why it is rejected', required: '', 'data-focus-key': `${reference}:reason` });
    this.#reason.classList.add('review-reason');
    const reject = button('Reject', { type: 'submit', 'data-action': 'reject', 'data-focus-key': `${reference}:reject` }, 'form-button danger');
    const rejectForm = element('form', { className: 'review-decision', attrs: { novalidate: '', 'aria-label': `Reject ${reference}` } }, [
      field('Reason (required to reject; the owner sees it)', this.#reason),
      reject,
    ]);
    rejectForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#reject(reject);
    });
    for (const control of [this.#municipality, this.#reason]) control.addEventListener('input', () => control.removeAttribute('aria-invalid'));

    const titleId = uniqueId('review-title');
    this.el = element('li', { className: 'review-card', attrs: { 'data-reference': reference, 'aria-labelledby': titleId } }, [
      element('div', { className: 'review-head' }, [element('span', { className: 'review-reference camera-code', text: reference }), this.#age]),
      element('h3', { className: 'review-title', attrs: { id: titleId } }),
      this.#info,
      element('div', { className: 'review-actions' }, [preview, check, link]),
      this.#linkBox,
      approveForm,
      rejectForm,
      this.#status.el,
    ]);
    this.update(item);
  }

  get item(): ReviewItem {
    return this.#item;
  }

  /** The server's current view of the enrolment (the list reloaded, or a check answered): what the admin typed stays. */
  update(item: ReviewItem, now = Date.now()): void {
    this.#item = item;
    const el = this.el;
    el.dataset.check = item.check?.result ?? 'none';
    el.dataset.duplicates = String(item.duplicates.length);
    const title = el.querySelector('.review-title');
    if (title) title.textContent = item.cameraName;
    this.#info.replaceChildren(...this.#renderInfo(item, now));
    this.tick(now);
  }

  /** Redraws the times ("submitted 12 min ago"). */
  tick(now = Date.now()): void {
    const submitted = Date.parse(this.#item.submittedAt);
    this.#age.textContent = `submitted ${ago(submitted, now)}`;
    this.#age.title = shortTime(this.#item.submittedAt);
    const checked = this.#info.querySelector<HTMLElement>('.review-check-at');
    if (checked && this.#item.check) checked.textContent = `checked ${ago(Date.parse(this.#item.check.at), now)}`;
  }

  close(): void {
    this.#closed = true;
    this.removeAllListeners();
  }

  #renderInfo(item: ReviewItem, now: number): HTMLElement[] {
    const parts: HTMLElement[] = [];
    parts.push(element('p', { className: 'review-meta' }, [`${humanise(item.category)} · `, element('span', { className: 'camera-code', text: item.cameraCode })]));
    if (item.duplicates.length > 0) {
      parts.push(
        element(
          'ul',
          { className: 'review-duplicates', attrs: { 'aria-label': 'Possible duplicates' } },
          [
            // Registered cameras first (the likelier mistake), then at most a few: a camera enrolled
            // many times would otherwise bury the card's check and buttons.
            ...[...item.duplicates]
              .sort((a, b) => (a.source === b.source ? 0 : a.source === 'registered' ? -1 : 1))
              .slice(0, MAX_DUPLICATES_SHOWN)
              .map((duplicate) =>
                element('li', { className: 'review-duplicate', text: duplicateText(duplicate), attrs: { 'data-camera-code': duplicate.cameraCode, 'data-source': duplicate.source } }),
              ),
            ...(item.duplicates.length > MAX_DUPLICATES_SHOWN
              ? [element('li', { className: 'review-duplicate-more', text: `and ${item.duplicates.length - MAX_DUPLICATES_SHOWN} more with the same address` })]
              : []),
          ],
        ),
      );
    }
    parts.push(this.#renderCheck(item.check, now));

    const facts: Array<[string, Node | string]> = [];
    const personal = item.personal;
    if (personal) {
      facts.push(['Owner', `${personal.ownerName} (${item.ownerKind === 'organisation' ? 'organisation' : 'person'})`]);
      const contact = [personal.email, personal.phone].filter((value): value is string => value !== undefined && value !== '');
      facts.push(['Contact', contact.length > 0 ? contact.join(' · ') : 'none given']);
      facts.push(['Address', personal.address]);
    } else {
      facts.push(['Owner', item.erasedAt ? `personal data erased ${shortTime(item.erasedAt)}` : 'not shown']);
    }
    facts.push(['Location', `${item.location.lat.toFixed(5)}, ${item.location.lng.toFixed(5)}`]);
    facts.push(['Camera URL', element('span', { className: 'review-url', text: item.url })]);
    facts.push(['Sharing', SHARING_LABEL[item.sharing] ?? humanise(item.sharing)]);
    facts.push(['Agreement', `version ${item.agreementVersion} (${item.language})`]);
    const list = element('dl', { className: 'review-facts' });
    for (const [term, value] of facts) list.append(element('dt', { text: term }), element('dd', {}, [value]));
    parts.push(list);
    return parts;
  }

  #renderCheck(check: ReviewCheck | undefined, now: number): HTMLElement {
    if (!check) return element('p', { className: 'review-check', text: 'Not checked yet', attrs: { 'data-result': 'none' } });
    const bits: Array<Node | string> = [element('span', { className: 'review-check-result', text: CHECK_LABEL[check.result] ?? humanise(check.result) })];
    const video = check.video;
    if (video) {
      const size = video.width !== undefined && video.height !== undefined ? `${video.width}×${video.height} ` : '';
      bits.push(element('span', { className: 'review-check-video', text: `${size}${video.codec.toUpperCase()}` }));
    }
    if (check.detail) bits.push(element('span', { className: 'review-check-detail', text: check.detail }));
    bits.push(element('span', { className: 'review-check-at', text: `checked ${ago(Date.parse(check.at), now)}`, attrs: { title: shortTime(check.at) } }));
    return element('p', { className: 'review-check', attrs: { 'data-result': check.result } }, bits);
  }

  async #checkAgain(control: HTMLButtonElement): Promise<void> {
    control.textContent = 'Checking…';
    const item = await busy(control, this.#status, () => this.#request(() => this.api.check(this.#item.reference)));
    control.textContent = 'Check again';
    if (!item || this.#closed) return;
    this.update(item);
    this.#status.info(`Checked: ${CHECK_LABEL[item.check?.result ?? 'unreachable'] ?? 'done'}.`);
  }

  async #newStatusLink(control: HTMLButtonElement): Promise<void> {
    const link = await busy(control, this.#status, () => this.#request(() => this.api.statusLink(this.#item.reference)));
    if (!link || this.#closed) return;
    this.#linkUrl.value = `${window.location.origin}${link.statusPath}`;
    this.#linkBox.hidden = false;
    this.#linkUrl.focus();
  }

  async #copyLink(control: HTMLButtonElement): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.#linkUrl.value);
      this.#status.info('Link copied.');
    } catch {
      this.#linkUrl.focus();
      this.#linkUrl.select();
      this.#status.info('Select the link and copy it.');
    }
    control.focus();
  }

  #hideLink(): void {
    this.#linkUrl.value = '';
    this.#linkBox.hidden = true;
  }

  async #approve(control: HTMLButtonElement): Promise<void> {
    const municipality = this.#municipality.value.trim();
    if (!municipality) {
      this.#missing(this.#municipality, 'Enter the municipality the camera belongs to.');
      return;
    }
    const item = await busy(control, this.#status, () => this.#request(() => this.api.approve(this.#item.reference, municipality, this.#item.url)));
    if (!item || this.#closed) return;
    this.#item = item;
    this.emit('decided', item, 'approved');
  }

  async #reject(control: HTMLButtonElement): Promise<void> {
    const reason = this.#reason.value.trim();
    if (!reason) {
      this.#missing(this.#reason, 'Enter why it is rejected (the owner sees it).');
      return;
    }
    const item = await busy(control, this.#status, () => this.#request(() => this.api.reject(this.#item.reference, reason)));
    if (!item || this.#closed) return;
    this.#item = item;
    this.emit('decided', item, 'rejected');
  }

  #missing(control: HTMLInputElement, message: string): void {
    control.setAttribute('aria-invalid', 'true');
    this.#status.error(message);
    control.focus();
  }

  /** Runs a request; an answer saying the enrolment is no longer pending reloads the list (the error still shows). */
  async #request<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ApiError && STALE_STATUSES.has(error.status)) this.emit('stale');
      throw error;
    }
  }
}

/** "Same camera as CAM-X (registered, approved)", "Same camera as CAM-Y (enrolment ENR-…, pending)". */
/** Duplicates listed on a card; the rest are counted. */
const MAX_DUPLICATES_SHOWN = 3;

export function duplicateText(duplicate: ReviewDuplicate): string {
  const source = duplicate.source === 'registered' ? 'registered' : `enrolment${duplicate.reference ? ` ${duplicate.reference}` : ''}`;
  return `Same camera as ${duplicate.cameraCode} (${source}, ${duplicate.status})`;
}

/** "just now", "12 min ago", "3 h ago", "2 days ago". */
export function ago(then: number, now: number): string {
  if (!Number.isFinite(then)) return 'at an unknown time';
  const minutes = Math.floor(Math.max(0, now - then) / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}
