/**
 * One camera of the fleet list: name, code, municipality, area, its health (what the prober last
 * learned) and its live state (idle, starting, live, backoff with the reason). The button inside
 * is what the operator clicks to put the camera on the wall (the list listens for the click).
 */
import type { CameraHealth, CameraStatusMessage, CameraSummary } from '../../server/signalling/protocol.ts';
import { element } from './dom.ts';
import { HEALTH_LABEL, streamSummary } from './health.ts';

export class CameraRow {
  readonly el: HTMLLIElement;
  #camera: CameraSummary;
  readonly #badge: HTMLSpanElement;
  readonly #health: HTMLSpanElement;
  readonly #stream: HTMLSpanElement;
  readonly #detail: HTMLSpanElement;

  constructor(camera: CameraSummary) {
    this.#camera = camera;
    this.#badge = element('span', { className: 'badge' });
    this.#health = element('span', { className: 'health' });
    this.#stream = element('span', { className: 'camera-stream' });
    this.#detail = element('span', { className: 'camera-detail' });
    const name = element('span', { className: 'camera-name', text: camera.name });
    const code = element('span', { className: 'camera-code', text: camera.id });
    const place = element('span', { className: 'camera-place', text: ` · ${camera.municipality}${camera.area === 'citizen' ? ' · citizen' : ''}` });
    const button = element('button', { className: 'camera-button', attrs: { type: 'button', title: `Show ${camera.name} on the wall` } }, [
      element('span', { className: 'camera-line' }, [name, this.#badge]),
      element('span', { className: 'camera-line' }, [element('span', { className: 'camera-meta' }, [code, place, this.#stream]), this.#health]),
      this.#detail,
    ]);
    this.el = element('li', { className: 'camera', attrs: { 'data-camera-id': camera.id, 'data-area': camera.area, 'data-municipality': camera.municipality } }, [button]);
    this.#renderStatus();
    this.#renderHealth();
  }

  get id(): string {
    return this.#camera.id;
  }

  get name(): string {
    return this.#camera.name;
  }

  setStatus(status: CameraStatusMessage): void {
    this.#camera = { ...this.#camera, status };
    this.#renderStatus();
  }

  setHealth(health: CameraHealth): void {
    this.#camera = { ...this.#camera, health };
    this.#renderHealth();
  }

  #renderStatus(): void {
    const { status } = this.#camera;
    this.el.dataset.state = status.state;
    this.#badge.textContent = status.state;
    this.#badge.dataset.state = status.state;
    let detail = '';
    if (status.state === 'backoff' || (status.reason && status.state !== 'live' && status.state !== 'idle')) {
      detail = status.reason ?? status.message ?? '';
      if (status.state === 'backoff' && status.retryInMs !== undefined) detail += `${detail ? ', ' : ''}retry in ${Math.ceil(status.retryInMs / 1000)} s`;
    } else if (status.state === 'live' && status.viewers > 0) {
      detail = `${status.viewers} viewer${status.viewers === 1 ? '' : 's'}`;
    }
    // What carries a live camera: the packet relay, ffmpeg copying, or ffmpeg transcoding.
    const engine = status.transcodeReason ? 'transcoded' : status.engine;
    if (engine && status.state === 'live') detail += `${detail ? ' · ' : ''}${engine}`;
    this.#detail.textContent = detail;
    this.#detail.hidden = detail === '';
    this.el.title = status.message ?? '';
  }

  #renderHealth(): void {
    const { health } = this.#camera;
    this.el.dataset.health = health.status;
    this.#health.dataset.health = health.status;
    this.#health.textContent = HEALTH_LABEL[health.status];
    const parts: string[] = [];
    if (health.since !== undefined) parts.push(`${capitalise(HEALTH_LABEL[health.status])} since ${formatTime(health.since)}`);
    else if (health.status === 'unknown') parts.push('Not probed yet');
    if (health.lastSeenAt !== undefined) parts.push(`last answered ${formatTime(health.lastSeenAt)}`);
    // The prober's reason first (why the camera refused us), then since when.
    this.#health.title = [health.message, parts.join(', ')].filter(Boolean).join('\n');
    const stream = streamSummary(health.stream);
    this.#stream.textContent = stream ? ` · ${stream}` : '';
    this.#stream.hidden = stream === '';
    if (stream) this.#stream.title = `What the camera described at the last probe${health.stream?.profileLevelId ? ` (profile-level-id ${health.stream.profileLevelId})` : ''}`;
    else this.#stream.removeAttribute('title');
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}
