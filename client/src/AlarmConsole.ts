/**
 * The console's side of the panic buttons (issue #22), for operators and admins (anyone else gets
 * nothing): keeps the alarms not closed that the server announced to this console, shows them in
 * the banner, rings while one of them is open, and switches the wall to a new alarm's cameras
 * when the operator chose so.
 *
 * The server's events: alarmRaised (new, pressed again, re-announced: ring), alarmChanged
 * (acknowledged or closed), alarmsOpen (on every connection: the whole list, which replaces ours,
 * so a reconnected console rings again for an alarm still open), alarmDeviceStatus (a supervised
 * device offline or back: a notice, no sound). The events are kept even before the role is known
 * (the server sends them to operators and admins only); the banner shows once it is.
 */
import { AlarmBanner } from './AlarmBanner.ts';
import { AlarmPreferences } from './AlarmPreferences.ts';
import { errorText } from './IncidentsApi.ts';
import type { AlarmDeviceStatusEvent, AlarmsApi, AlarmView } from './AlarmsApi.ts';
import type { AlarmSound } from './AlarmSound.ts';

/** What browser tests read (window.c5.alarms()). */
export interface AlarmSummary {
  id: string;
  status: string;
  presses: number;
  acknowledgedBy?: string;
  cameras: string[];
  /** performance.timeOrigin + performance.now() when its card was first rendered (epoch ms). */
  bannerShownAt?: number;
}

/** What browser tests read (window.c5.alarmSound()). */
export interface AlarmSoundSummary {
  state: string;
  /** The "Click to enable alarm sound" prompt is visible. */
  prompt: boolean;
  ringing: boolean;
  beeps: number;
}

const ALARM_ROLES = new Set(['operator', 'admin']);
const STATUS_RANK = { open: 0, acknowledged: 1, closed: 2 } as const;
/** Alarm ids remembered at most per kind (seen, closed, touched) over a long-running console. */
const REMEMBERED = 2000;

export class AlarmConsole {
  readonly #banner: AlarmBanner;
  readonly #alarms = new Map<string, AlarmView>();
  /** Alarms announced to this console (raised, or open at a connection): those ring while open. */
  readonly #raised = new Set<string>();
  /** Every alarm id met in this run: an alarmRaised for another one is a new alarm. */
  readonly #seen = new Set<string>();
  /** Closed here or announced closed: a late answer must not bring them back. */
  readonly #closed = new Set<string>();
  /** Per alarm, the serial of the last event about it (a REST reload does not undo newer events). */
  readonly #touched = new Map<string, number>();
  #serial = 0;
  #enabled = false;
  #role: string | undefined;
  #preferences: AlarmPreferences | undefined;
  /** setAutoSwitch before the user was known: saved once they are. */
  #pendingAutoSwitch: boolean | undefined;
  /** A new alarm came before the user was known: switch to it if they want so. */
  #pendingSwitch: string | undefined;
  #loadGeneration = 0;
  readonly #offSound: () => void;
  #stopped = false;

  constructor(
    container: HTMLElement,
    private readonly api: AlarmsApi,
    private readonly sound: AlarmSound,
    private readonly wall: { show(codes: string[]): void },
    private readonly storage: Storage,
  ) {
    this.#banner = new AlarmBanner(container, api);
    this.#banner.setVisible(false);
    this.#banner.on('show', (codes) => this.wall.show(codes));
    this.#banner.on('changed', (alarm) => {
      if (this.#apply(alarm, { fromAnswer: true })) this.#update();
    });
    this.#banner.on('autoSwitch', (on) => this.setAutoSwitch(on));
    this.#banner.on('enableSound', () => this.sound.enable());
    this.#offSound = sound.on('state', () => this.#update());
  }

  /** Who is signed in (GET /api/me, then rightsChanged). */
  setUser(username: string, role: string): void {
    const first = this.#role === undefined;
    const wasEnabled = this.#enabled;
    this.#role = role;
    this.#enabled = ALARM_ROLES.has(role);
    if (!this.#preferences) {
      this.#preferences = new AlarmPreferences(this.storage, username);
      if (this.#pendingAutoSwitch !== undefined) this.#preferences.autoSwitch = this.#pendingAutoSwitch;
      this.#pendingAutoSwitch = undefined;
      this.#banner.setAutoSwitch(this.#preferences.autoSwitch);
    }
    this.#banner.setVisible(this.#enabled);
    // Made operator or admin while connected: the server announced nothing to us before.
    if (this.#enabled && !wasEnabled && !first) void this.reload();
    const pending = this.#pendingSwitch;
    this.#pendingSwitch = undefined;
    if (pending !== undefined && this.#enabled && this.#preferences.autoSwitch) {
      const alarm = this.#alarms.get(pending);
      if (alarm) this.#show(alarm);
    }
    this.#update();
  }

  /** alarmRaised: a new alarm, pressed again, or announced again. */
  raised(alarm: AlarmView): void {
    const isNew = !this.#seen.has(alarm.id);
    if (!this.#apply(alarm, {})) return;
    this.#raised.add(alarm.id);
    if (isNew && alarm.status !== 'closed') {
      if (this.#role === undefined) this.#pendingSwitch = alarm.id;
      else if (this.#enabled && this.#preferences?.autoSwitch) this.#show(alarm);
    }
    this.#update();
  }

  /** alarmChanged: acknowledged (by whom) or closed. */
  changed(alarm: AlarmView): void {
    if (this.#apply(alarm, {})) this.#update();
  }

  /** alarmsOpen (every connection): the whole list replaces ours; the open ones ring. */
  open(event: { alarms: AlarmView[]; offlineDevices: AlarmDeviceStatusEvent[] }): void {
    this.#loadGeneration++;
    this.#replace(Array.isArray(event.alarms) ? event.alarms : [], undefined);
    this.#banner.setOffline(Array.isArray(event.offlineDevices) ? event.offlineDevices : []);
    this.#update();
  }

  /** alarmDeviceStatus: a supervised device went offline or came back (no sound). */
  deviceStatus(event: AlarmDeviceStatusEvent): void {
    this.#banner.deviceStatus(event);
  }

  /** Loads the alarms not closed through the API (the role now allows them). */
  async reload(): Promise<void> {
    const generation = ++this.#loadGeneration;
    const since = this.#serial;
    try {
      const page = await this.api.listAlarms(['open', 'acknowledged']);
      if (generation !== this.#loadGeneration || this.#stopped) return;
      this.#replace(Array.isArray(page.items) ? page.items : [], since);
      this.#update();
    } catch (error) {
      console.warn(`loading the alarms failed: ${errorText(error)}`);
    }
  }

  /** "Switch the wall to an alarm's cameras automatically", saved for this user. */
  setAutoSwitch(on: boolean): void {
    if (this.#preferences) this.#preferences.autoSwitch = on;
    else this.#pendingAutoSwitch = on;
    this.#banner.setAutoSwitch(on);
  }

  alarms(): AlarmSummary[] {
    if (!this.#enabled) return [];
    return [...this.#alarms.values()].map((alarm) => {
      const shownAt = this.#banner.shownAt(alarm.id);
      return {
        id: alarm.id,
        status: alarm.status,
        presses: alarm.presses,
        ...(alarm.acknowledgedBy && { acknowledgedBy: alarm.acknowledgedBy.username }),
        cameras: alarm.cameras.map((camera) => camera.code),
        ...(shownAt !== undefined && { bannerShownAt: shownAt }),
      };
    });
  }

  soundSummary(): AlarmSoundSummary {
    return { state: this.sound.state, prompt: this.#banner.soundPromptVisible, ringing: this.sound.ringing, beeps: this.sound.beeps };
  }

  /** The console stops (signed out): no banner, no sound. The AudioContext stays for the next sign-in. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#offSound();
    this.sound.ring(false);
    this.#banner.close();
    this.#alarms.clear();
  }

  /**
   * Takes an alarm's newer state; false if it is older than what we have (a late answer) or the
   * alarm was closed already. Closed alarms leave the list.
   */
  #apply(alarm: AlarmView, options: { fromAnswer?: boolean }): boolean {
    if (this.#stopped || typeof alarm?.id !== 'string') return false;
    this.#seen.add(alarm.id);
    if (this.#closed.has(alarm.id)) return false;
    const known = this.#alarms.get(alarm.id);
    if (known && isOlder(alarm, known)) return false;
    if (!options.fromAnswer) this.#touched.set(alarm.id, ++this.#serial);
    if (alarm.status === 'closed') {
      this.#closed.add(alarm.id);
      this.#alarms.delete(alarm.id);
      this.#raised.delete(alarm.id);
    } else {
      this.#alarms.set(alarm.id, alarm);
    }
    this.#forgetOld();
    return true;
  }

  /**
   * A console runs for days: the memory of alarms met (seen, closed, touched) keeps the newest
   * REMEMBERED ids, never those on the banner. An id forgotten is an alarm long closed: if it were
   * announced again it would simply show again.
   */
  #forgetOld(): void {
    for (const ids of [this.#seen, this.#closed, this.#touched]) {
      if (ids.size <= REMEMBERED) continue;
      for (const id of ids.keys()) {
        if (ids.size <= REMEMBERED) break;
        if (!this.#alarms.has(id)) ids.delete(id);
      }
    }
  }

  /** A whole list from the server; with `since`, alarms touched by events after it keep their state. */
  #replace(alarms: AlarmView[], since: number | undefined): void {
    const fresh = (id: string): boolean => since !== undefined && (this.#touched.get(id) ?? 0) > since;
    const listed = new Set<string>();
    for (const alarm of alarms) {
      if (typeof alarm?.id !== 'string') continue;
      listed.add(alarm.id);
      this.#seen.add(alarm.id);
      if (fresh(alarm.id)) continue;
      if (since === undefined) this.#closed.delete(alarm.id);
      else if (this.#closed.has(alarm.id)) continue;
      if (alarm.status === 'closed') continue;
      this.#alarms.set(alarm.id, alarm);
      // Open at a connection: announced to this console again.
      if (alarm.status === 'open') this.#raised.add(alarm.id);
    }
    for (const id of [...this.#alarms.keys()]) {
      if (listed.has(id) || fresh(id)) continue;
      this.#alarms.delete(id);
      this.#raised.delete(id);
    }
  }

  #show(alarm: AlarmView): void {
    const codes = alarm.cameras.map((camera) => camera.code);
    if (codes.length > 0) this.wall.show(codes);
  }

  /** Banner, prompt and ringing follow the state. */
  #update(): void {
    if (this.#stopped) return;
    this.#banner.render(this.#enabled ? [...this.#alarms.values()] : []);
    this.#banner.setSoundPrompt(this.#enabled && this.sound.needsGesture);
    const ring = this.#enabled && [...this.#alarms.values()].some((alarm) => alarm.status === 'open' && this.#raised.has(alarm.id));
    this.sound.ring(ring);
  }
}

/** Whether `next` is an older state of the alarm than `known` (status only moves forward; presses only grow). */
function isOlder(next: AlarmView, known: AlarmView): boolean {
  const rank = STATUS_RANK[next.status] - STATUS_RANK[known.status];
  if (rank !== 0) return rank < 0;
  return next.presses < known.presses;
}
