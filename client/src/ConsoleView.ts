/**
 * The page around the wall: the connection indicator and layout buttons in the top bar, and the
 * signed-out screen.
 */
import { requireElement } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { LAYOUTS, type Layout } from './Wall.ts';

export type ConnectionState = 'starting' | 'connecting' | 'connected' | 'reconnecting' | 'signed-out';

export interface ConsoleViewEvents {
  layout: [layout: Layout];
  signOut: [];
}

export class ConsoleView extends Emitter<ConsoleViewEvents> {
  readonly wallElement: HTMLElement;
  readonly cameraListElement: HTMLElement;
  readonly #connection: HTMLElement;
  readonly #layouts: HTMLElement;
  readonly #signOutButton: HTMLButtonElement;
  readonly #main: HTMLElement;
  readonly #signedOut: HTMLElement;
  readonly #signedOutReason: HTMLElement;

  constructor() {
    super();
    this.wallElement = requireElement('#wall', HTMLElement);
    this.cameraListElement = requireElement('#cameras', HTMLElement);
    this.#connection = requireElement('#connection', HTMLElement);
    this.#layouts = requireElement('#layouts', HTMLElement);
    this.#signOutButton = requireElement('#sign-out', HTMLButtonElement);
    this.#main = requireElement('#console', HTMLElement);
    this.#signedOut = requireElement('#signed-out', HTMLElement);
    this.#signedOutReason = requireElement('#signed-out-reason', HTMLElement);

    this.#layouts.addEventListener('click', (event) => {
      const button = (event.target as Element | null)?.closest<HTMLElement>('button[data-layout]');
      const layout = Number(button?.dataset.layout);
      if (LAYOUTS.includes(layout as Layout)) this.emit('layout', layout as Layout);
    });
    this.#signOutButton.addEventListener('click', () => this.emit('signOut'));
  }

  /** The console is usable: show the wall and its controls. */
  showConsole(): void {
    this.#signedOut.hidden = true;
    this.#main.hidden = false;
    this.#layouts.hidden = false;
    this.#signOutButton.hidden = false;
  }

  /** No session: hide the wall and say how to sign in. */
  showSignedOut(reason?: string): void {
    this.#main.hidden = true;
    this.#layouts.hidden = true;
    this.#signOutButton.hidden = true;
    this.#signedOut.hidden = false;
    this.#signedOutReason.textContent = reason ? capitalise(reason) : '';
    this.#signedOutReason.hidden = !reason;
    this.setConnection('signed-out');
    document.body.dataset.session = 'signed-out';
  }

  setConnection(state: ConnectionState, detail?: string): void {
    const label: Record<ConnectionState, string> = {
      starting: 'Starting…',
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Connection lost, reconnecting…',
      'signed-out': 'Signed out',
    };
    this.#connection.dataset.state = state;
    this.#connection.textContent = detail ? `${label[state]} (${detail})` : label[state];
    if (state !== 'signed-out') document.body.dataset.session = 'signed-in';
  }

  setLayout(layout: Layout): void {
    for (const button of Array.from(this.#layouts.querySelectorAll<HTMLButtonElement>('button[data-layout]'))) {
      const active = button.dataset.layout === String(layout);
      button.classList.toggle('active', active);
      button.setAttribute('aria-pressed', String(active));
    }
  }
}

function capitalise(text: string): string {
  const trimmed = text.trim();
  const sentence = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
