/**
 * One of the investigator's live grants: the incident's title, the cameras it lets them watch
 * (click or Enter puts one on the wall), the time left (redrawn every second) with a visible
 * warning when 10 minutes or less remain, and "On the wall" for all its cameras at once.
 */
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { button, humanise, replaceKeepingFocus, shortTime } from './forms.ts';
import type { MyGrant } from './IncidentsApi.ts';
import { formatTimeLeft, msLeft, urgency, type Urgency } from './timeLeft.ts';

export interface MyGrantCardEvents {
  pick: [code: string];
  fill: [codes: string[]];
}

export class MyGrantCard extends Emitter<MyGrantCardEvents> {
  readonly el: HTMLLIElement;
  #mine: MyGrant;
  readonly #title: HTMLHeadingElement;
  readonly #meta: HTMLParagraphElement;
  readonly #left: HTMLParagraphElement;
  readonly #cameras: HTMLUListElement;

  constructor(
    mine: MyGrant,
    private readonly cameraName: (code: string) => string | undefined,
  ) {
    super();
    this.#mine = mine;
    this.#title = element('h3', { className: 'my-grant-title' });
    this.#meta = element('p', { className: 'incident-meta' });
    this.#left = element('p', { className: 'grant-left' });
    this.#cameras = element('ul', { className: 'incident-cameras', attrs: { 'aria-label': 'Cameras you may watch' } });
    this.#cameras.addEventListener('click', (event) => {
      const code = (event.target as Element | null)?.closest<HTMLElement>('button[data-code]')?.dataset.code;
      if (code) this.emit('pick', code);
    });
    const fill = button('On the wall', { 'data-action': 'fill' }, 'form-button small');
    fill.addEventListener('click', () => this.emit('fill', this.#mine.cameras));
    this.el = element('li', { className: 'my-grant', attrs: { 'data-grant-id': mine.grant.id, 'data-incident-id': mine.incident.id } }, [
      element('div', { className: 'incident-section-head' }, [this.#title, fill]),
      this.#meta,
      this.#left,
      this.#cameras,
    ]);
    this.update(mine);
  }

  get mine(): MyGrant {
    return this.#mine;
  }

  update(mine: MyGrant): void {
    this.#mine = mine;
    this.#title.textContent = mine.incident.title;
    this.#meta.textContent = `${humanise(mine.incident.kind)} · ${mine.incident.municipality} · ${mine.grant.scope === 'all' ? 'all its cameras' : 'chosen cameras'} · granted by ${mine.grant.grantedBy.username}`;
    this.refreshNames();
    this.tick(Date.now());
  }

  /** Camera names arrived (the camera list): redraw the camera buttons. */
  refreshNames(): void {
    const items = this.#mine.cameras.map((code) => {
      const name = this.cameraName(code) ?? code;
      return element('li', { className: 'incident-camera-row', attrs: { 'data-camera-code': code } }, [
        element('button', { className: 'incident-camera', attrs: { type: 'button', 'data-code': code, 'data-focus-key': `pick-${code}`, title: `Show ${name} on the wall` } }, [
          element('span', { className: 'camera-name', text: name }),
          ...(name !== code ? [element('span', { className: 'camera-meta' }, [element('span', { className: 'camera-code', text: code })])] : []),
        ]),
      ]);
    });
    if (items.length === 0) items.push(element('li', { className: 'field-hint', text: 'No camera to watch right now.' }));
    replaceKeepingFocus(this.#cameras, items);
  }

  /** Redraws the time left; returns how urgent it is now. */
  tick(now: number): Urgency {
    const ms = this.msLeft(now);
    const level = urgency(ms);
    this.#left.textContent = level === 'ended' ? 'Access ended' : level === 'warning' ? `Access ends in ${formatTimeLeft(ms)}` : `${formatTimeLeft(ms)} left`;
    this.#left.title = `Until ${shortTime(this.#mine.grant.endsAt)}`;
    this.#left.dataset.urgency = level;
    this.el.dataset.urgency = level;
    return level;
  }

  msLeft(now: number): number {
    return msLeft(this.#mine.grant.endsAt, now);
  }
}
