/**
 * The fleet at a glance: one chip per health status with its count over every camera the operator
 * may see ("● 4,120 reachable"). Clicking a chip asks to filter by that health (again: clear it).
 */
import type { HealthFilter } from '../../server/signalling/protocol.ts';
import { element } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { HEALTH_LABEL as LABEL, HEALTH_ORDER as ORDER } from './health.ts';

export interface HealthChipsEvents {
  pick: [health: HealthFilter];
}

const numbers = new Intl.NumberFormat('en-US');

export class HealthChips extends Emitter<HealthChipsEvents> {
  readonly el: HTMLDivElement;
  readonly #chips = new Map<HealthFilter, { button: HTMLButtonElement; count: HTMLSpanElement }>();

  constructor() {
    super();
    this.el = element('div', { className: 'health-chips', attrs: { role: 'group', 'aria-label': 'Cameras by health' } });
    for (const health of ORDER) {
      const count = element('span', { className: 'health-chip-count', text: '–' });
      const button = element(
        'button',
        { className: 'health-chip', attrs: { type: 'button', 'data-health-count': health, 'aria-pressed': 'false', title: `Show only ${LABEL[health]} cameras` } },
        [element('span', { className: 'health-dot', attrs: { 'aria-hidden': 'true' } }), count, ` ${LABEL[health]}`],
      );
      button.addEventListener('click', () => this.emit('pick', health));
      this.#chips.set(health, { button, count });
      this.el.append(button);
    }
  }

  setCounts(counts: Record<HealthFilter, number>): void {
    for (const [health, chip] of this.#chips) {
      const value = counts[health];
      chip.button.dataset.count = String(value);
      chip.count.textContent = numbers.format(value);
      chip.button.classList.toggle('zero', value === 0);
    }
  }

  /** Marks the chip of the health filter in force (none: undefined). */
  setActive(health: HealthFilter | undefined): void {
    for (const [key, chip] of this.#chips) {
      const active = key === health;
      chip.button.classList.toggle('active', active);
      chip.button.setAttribute('aria-pressed', String(active));
      chip.button.title = active ? 'Show every health again' : `Show only ${LABEL[key]} cameras`;
    }
  }
}

export function formatCount(value: number): string {
  return numbers.format(value);
}
