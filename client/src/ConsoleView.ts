/**
 * The page around the wall: the connection indicator, layout buttons, the camera drawer's button
 * and who is signed in in the top bar, and the sign-in screen (username and password form) shown
 * when there is no session.
 */
import type { SessionBandwidth } from '../../server/signalling/protocol.ts';
import { CameraDrawer } from './CameraDrawer.ts';
import { requireElement } from './dom.ts';
import { Emitter } from './Emitter.ts';
import { LAYOUTS, type Layout } from './Wall.ts';

export type ConnectionState = 'starting' | 'connecting' | 'connected' | 'reconnecting' | 'signed-out';

export interface ConsoleViewEvents {
  layout: [layout: Layout];
  signOut: [];
  /** The sign-in form was submitted (both fields filled). */
  signIn: [username: string, password: string];
}

/** Who the top bar shows as signed in. */
export interface SignedInUser {
  username: string;
  displayName: string;
  role: string;
}

export class ConsoleView extends Emitter<ConsoleViewEvents> {
  readonly wallElement: HTMLElement;
  readonly cameraListElement: HTMLElement;
  /** The incidents tab's panel (its content depends on the role). */
  readonly incidentsElement: HTMLElement;
  /** The sidebar's tab strip (Cameras, Incidents, Alarm devices, Review). */
  readonly sidebarTabsElement: HTMLElement;
  /** The alarm banner above the wall (operators and admins). */
  readonly alarmBannerElement: HTMLElement;
  /** The alarm devices tab's panel (admins). */
  readonly alarmDevicesElement: HTMLElement;
  /** The review tab's panel and its tab's count of pending enrolments (admins). */
  readonly reviewElement: HTMLElement;
  readonly reviewCountElement: HTMLElement;
  /** The sidebar as a drawer over the wall on tablets. */
  readonly drawer: CameraDrawer;
  readonly #connection: HTMLElement;
  readonly #bandwidth: HTMLElement;
  readonly #layouts: HTMLElement;
  readonly #signOutButton: HTMLButtonElement;
  readonly #drawerToggle: HTMLButtonElement;
  readonly #main: HTMLElement;
  readonly #signedOut: HTMLElement;
  readonly #signedOutReason: HTMLElement;
  readonly #signInForm: HTMLFormElement;
  readonly #username: HTMLInputElement;
  readonly #password: HTMLInputElement;
  readonly #signInError: HTMLElement;
  readonly #signInSubmit: HTMLButtonElement;
  readonly #user: HTMLElement;
  readonly #userName: HTMLElement;
  readonly #userRole: HTMLElement;
  #signingIn = false;

  constructor() {
    super();
    this.wallElement = requireElement('#wall', HTMLElement);
    this.cameraListElement = requireElement('#cameras', HTMLElement);
    this.incidentsElement = requireElement('#incidents', HTMLElement);
    this.sidebarTabsElement = requireElement('#sidebar-tabs', HTMLElement);
    this.alarmBannerElement = requireElement('#alarm-banner', HTMLElement);
    this.alarmDevicesElement = requireElement('#alarm-devices', HTMLElement);
    this.reviewElement = requireElement('#review', HTMLElement);
    this.reviewCountElement = requireElement('#review-count', HTMLElement);
    this.#connection = requireElement('#connection', HTMLElement);
    this.#bandwidth = requireElement('#bandwidth', HTMLElement);
    this.#layouts = requireElement('#layouts', HTMLElement);
    this.#signOutButton = requireElement('#sign-out', HTMLButtonElement);
    this.#drawerToggle = requireElement('#drawer-toggle', HTMLButtonElement);
    this.#main = requireElement('#console', HTMLElement);
    this.#signedOut = requireElement('#signed-out', HTMLElement);
    this.#signedOutReason = requireElement('#signed-out-reason', HTMLElement);
    this.#signInForm = requireElement('#signin-form', HTMLFormElement);
    this.#username = requireElement('#signin-username', HTMLInputElement);
    this.#password = requireElement('#signin-password', HTMLInputElement);
    this.#signInError = requireElement('#signin-error', HTMLElement);
    this.#signInSubmit = requireElement('#signin-submit', HTMLButtonElement);
    this.#user = requireElement('#user', HTMLElement);
    this.#userName = requireElement('#user-name', HTMLElement);
    this.#userRole = requireElement('#user-role', HTMLElement);
    this.drawer = new CameraDrawer(this.#main, requireElement('#sidebar', HTMLElement), this.#drawerToggle, requireElement('#drawer-backdrop', HTMLElement));

    this.#layouts.addEventListener('click', (event) => {
      const button = (event.target as Element | null)?.closest<HTMLElement>('button[data-layout]');
      const layout = Number(button?.dataset.layout);
      if (LAYOUTS.includes(layout as Layout)) this.emit('layout', layout as Layout);
    });
    this.#signOutButton.addEventListener('click', () => this.emit('signOut'));
    this.#signInForm.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.#signingIn) return;
      const username = this.#username.value.trim();
      const password = this.#password.value;
      if (!username) {
        this.showSignInError('enter your username');
        this.#username.focus();
        return;
      }
      if (!password) {
        this.showSignInError('enter your password');
        this.#password.focus();
        return;
      }
      this.emit('signIn', username, password);
    });
  }

  /** The console is usable: show the wall and its controls. */
  showConsole(): void {
    this.#signedOut.hidden = true;
    this.#main.hidden = false;
    this.#layouts.hidden = false;
    this.#signOutButton.hidden = false;
    this.#drawerToggle.hidden = false;
  }

  /** No session: hide the wall and show the sign-in form, with why the last session ended. */
  showSignedOut(reason?: string): void {
    this.#main.hidden = true;
    this.#layouts.hidden = true;
    this.#signOutButton.hidden = true;
    this.#drawerToggle.hidden = true;
    this.drawer.setOpen(false);
    this.setUser(undefined);
    this.#signedOut.hidden = false;
    this.#signedOutReason.textContent = reason ? capitalise(reason) : '';
    this.#signedOutReason.hidden = !reason;
    this.setSigningIn(false);
    this.showSignInError(undefined);
    this.#password.value = '';
    this.setConnection('signed-out');
    document.body.dataset.session = 'signed-out';
    (this.#username.value ? this.#password : this.#username).focus();
  }

  /** The form is waiting for the server: no second submission. */
  setSigningIn(busy: boolean): void {
    this.#signingIn = busy;
    this.#signInSubmit.disabled = busy;
    this.#signInSubmit.textContent = busy ? 'Signing in…' : 'Sign in';
    this.#signInForm.setAttribute('aria-busy', String(busy));
  }

  /** The server refused the sign-in (its message), or undefined to clear. */
  showSignInError(message: string | undefined): void {
    this.#signInError.textContent = message ? capitalise(message) : '';
    this.#signInError.hidden = !message;
  }

  /** The server refused the sign-in: its message, and the password field emptied for a new try. */
  signInRefused(message: string): void {
    this.setSigningIn(false);
    this.showSignInError(message);
    this.#password.value = '';
    this.#password.focus();
  }

  /** Who is signed in (display name and role), or undefined to hide it. */
  setUser(user: SignedInUser | undefined): void {
    this.#user.hidden = !user;
    this.#userName.textContent = user?.displayName ?? '';
    this.#userName.title = user ? `Signed in as ${user.username} (${user.role})` : '';
    this.#userRole.textContent = user?.role ?? '';
    this.#userRole.dataset.role = user?.role ?? '';
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

  /**
   * The session's measured video bit rate and its role's cap ("2.1 / 3.0 Mbit/s"), or undefined to
   * hide it. `data-total-kbps` and `data-cap-kbps` (absent: no cap) carry the numbers.
   */
  setBandwidth(bandwidth: Pick<SessionBandwidth, 'totalKbps' | 'capKbps'> | undefined): void {
    const el = this.#bandwidth;
    if (!bandwidth) {
      el.hidden = true;
      el.textContent = '';
      delete el.dataset.totalKbps;
      delete el.dataset.capKbps;
      delete el.dataset.over;
      return;
    }
    const total = Math.max(0, Math.round(bandwidth.totalKbps));
    const cap = bandwidth.capKbps === null ? undefined : Math.round(bandwidth.capKbps);
    el.dataset.totalKbps = String(total);
    if (cap !== undefined) el.dataset.capKbps = String(cap);
    else delete el.dataset.capKbps;
    el.dataset.over = String(cap !== undefined && total > cap);
    el.textContent = cap !== undefined ? `${mbit(total)} / ${mbit(cap)} Mbit/s` : `${mbit(total)} Mbit/s`;
    el.hidden = false;
  }

  setLayout(layout: Layout): void {
    for (const button of Array.from(this.#layouts.querySelectorAll<HTMLButtonElement>('button[data-layout]'))) {
      const active = button.dataset.layout === String(layout);
      button.classList.toggle('active', active);
      button.setAttribute('aria-pressed', String(active));
    }
  }
}

/** kbit/s as Mbit/s with one decimal. */
function mbit(kbps: number): string {
  return (kbps / 1000).toFixed(1);
}

function capitalise(text: string): string {
  const trimmed = text.trim();
  const sentence = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
