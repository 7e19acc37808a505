import { element } from '../dom.ts';
import { liveLine } from './fields.ts';
import type { Translator } from './Translator.ts';

/** "lat, lng" as a map app copies it: `19.4326, -99.1332` (a comma, semicolon or space between). */
const PAIR = /^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;

/**
 * The camera's coordinates without a map: "Usar mi ubicación" asks the browser (the owner is often
 * standing by the camera), and a pasted "lat, lng" pair fills both inputs. Fills the inputs and
 * fires a `coordinates` event on the latitude input.
 */
export class LocationFinder {
  readonly button: HTMLButtonElement;
  readonly status = liveLine('location-status');

  constructor(
    private readonly translator: Translator,
    private readonly lat: HTMLInputElement,
    private readonly lng: HTMLInputElement,
  ) {
    this.button = translator.text(element('button', { className: 'secondary locate', attrs: { type: 'button', id: 'use-location' } }), 'location.use');
    this.button.addEventListener('click', () => this.locate());
    for (const input of [lat, lng]) input.addEventListener('paste', (event) => this.#paste(event));
  }

  locate(): void {
    const t = this.translator;
    if (!window.isSecureContext || !('geolocation' in navigator)) {
      t.text(this.status, 'location.unsupported');
      return;
    }
    this.button.disabled = true;
    t.text(this.status, 'location.locating');
    navigator.geolocation.getCurrentPosition(
      (position) => {
        this.button.disabled = false;
        this.#fill(position.coords.latitude, position.coords.longitude);
        t.text(this.status, 'location.found', { meters: Math.max(1, Math.round(position.coords.accuracy)) });
      },
      (error) => {
        this.button.disabled = false;
        t.text(this.status, error.code === error.PERMISSION_DENIED ? 'location.denied' : 'location.unavailable');
      },
      { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 },
    );
  }

  #paste(event: ClipboardEvent): void {
    const match = PAIR.exec(event.clipboardData?.getData('text') ?? '');
    if (!match) return;
    const lat = Number(match[1]);
    const lng = Number(match[2]);
    if (Math.abs(lat) > 90 || Math.abs(lng) > 180) return;
    event.preventDefault();
    this.#fill(lat, lng);
  }

  #fill(lat: number, lng: number): void {
    // Six decimals: about 10 cm, more than a phone's fix is worth.
    this.lat.value = lat.toFixed(6);
    this.lng.value = lng.toFixed(6);
    this.lat.dispatchEvent(new Event('coordinates'));
  }
}
