/**
 * The cameras this operator may view, with each one's live status (idle, starting, live, backoff
 * with the reason). Clicking a camera asks for it on the wall.
 */
import type { CameraStatusMessage, CameraSummary } from '../../server/signalling/protocol.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';

export interface CameraListEvents {
  pick: [cameraId: string];
}

interface Entry {
  camera: CameraSummary;
  item: HTMLLIElement;
  badge: HTMLSpanElement;
  detail: HTMLSpanElement;
  searchText: string;
}

export class CameraList extends Emitter<CameraListEvents> {
  readonly #entries = new Map<string, Entry>();
  readonly #list: HTMLUListElement;
  readonly #count: HTMLElement;
  readonly #filter: HTMLInputElement;

  constructor(container: HTMLElement) {
    super();
    this.#filter = element('input', {
      className: 'camera-filter',
      attrs: { type: 'search', placeholder: 'Filter cameras', 'aria-label': 'Filter cameras', autocomplete: 'off', spellcheck: 'false' },
    });
    this.#count = element('div', { className: 'camera-count' });
    this.#list = element('ul', { className: 'camera-list', attrs: { role: 'list' } });
    container.replaceChildren(this.#filter, this.#count, this.#list);
    this.#filter.addEventListener('input', () => this.#applyFilter());
    this.#list.addEventListener('click', (event) => {
      const item = (event.target as Element | null)?.closest<HTMLElement>('[data-camera-id]');
      const id = item?.dataset.cameraId;
      if (id) this.emit('pick', id);
    });
  }

  get ids(): string[] {
    return [...this.#entries.keys()];
  }

  name(cameraId: string): string | undefined {
    return this.#entries.get(cameraId)?.camera.name;
  }

  has(cameraId: string): boolean {
    return this.#entries.has(cameraId);
  }

  /** Replaces the whole list (after listCameras). */
  set(cameras: CameraSummary[]): void {
    this.#entries.clear();
    const items: HTMLLIElement[] = [];
    for (const camera of cameras) {
      const entry = this.#createEntry(camera);
      this.#entries.set(camera.id, entry);
      items.push(entry.item);
    }
    this.#list.replaceChildren(...items);
    this.#applyFilter();
  }

  /** A cameraState event. */
  update(status: CameraStatusMessage): void {
    const entry = this.#entries.get(status.cameraId);
    if (!entry) return;
    entry.camera = { ...entry.camera, status };
    this.#renderStatus(entry);
  }

  #createEntry(camera: CameraSummary): Entry {
    const badge = element('span', { className: 'badge' });
    const detail = element('span', { className: 'camera-detail' });
    const name = element('span', { className: 'camera-name', text: camera.name });
    const meta = element('span', { className: 'camera-meta', text: `${camera.id} · ${camera.area}` });
    const button = element('button', { className: 'camera-button', attrs: { type: 'button', title: `Show ${camera.name} on the wall` } }, [
      element('span', { className: 'camera-line' }, [name, badge]),
      meta,
      detail,
    ]);
    const item = element('li', { className: 'camera', attrs: { 'data-camera-id': camera.id } }, [button]);
    const entry: Entry = { camera, item, badge, detail, searchText: `${camera.name} ${camera.id} ${camera.area}`.toLowerCase() };
    this.#renderStatus(entry);
    return entry;
  }

  #renderStatus(entry: Entry): void {
    const { status } = entry.camera;
    entry.item.dataset.state = status.state;
    entry.badge.textContent = status.state;
    entry.badge.dataset.state = status.state;
    let detail = '';
    if (status.state === 'backoff' || (status.reason && status.state !== 'live' && status.state !== 'idle')) {
      detail = status.reason ?? status.message ?? '';
      if (status.state === 'backoff' && status.retryInMs !== undefined) detail += `${detail ? ', ' : ''}retry in ${Math.ceil(status.retryInMs / 1000)} s`;
    } else if (status.state === 'live' && status.viewers > 0) {
      detail = `${status.viewers} viewer${status.viewers === 1 ? '' : 's'}`;
    }
    if (status.transcodeReason && status.state === 'live') detail += `${detail ? ' · ' : ''}transcoded`;
    entry.detail.textContent = detail;
    entry.detail.hidden = detail === '';
    entry.item.title = status.message ?? '';
  }

  #applyFilter(): void {
    const words = this.#filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const entry of this.#entries.values()) {
      const visible = words.every((word) => entry.searchText.includes(word));
      entry.item.hidden = !visible;
      if (visible) shown++;
    }
    const total = this.#entries.size;
    this.#count.textContent = shown === total ? `${total} camera${total === 1 ? '' : 's'}` : `${shown} of ${total} cameras`;
  }
}
