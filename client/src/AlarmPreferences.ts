/**
 * The operator's alarm preferences, kept per user in localStorage (the console may be shared by
 * the shifts): whether an alarm's cameras are put on the wall as soon as it comes in.
 */
const KEY_PREFIX = 'c5.alarms.autoSwitch.';

export class AlarmPreferences {
  #autoSwitch = false;

  constructor(
    private readonly storage: Storage,
    private readonly username: string,
  ) {
    try {
      this.#autoSwitch = storage.getItem(KEY_PREFIX + username) === 'on';
    } catch {
      // Storage disabled: off.
    }
  }

  /** "Switch the wall to an alarm's cameras automatically". */
  get autoSwitch(): boolean {
    return this.#autoSwitch;
  }

  set autoSwitch(on: boolean) {
    this.#autoSwitch = on;
    try {
      if (on) this.storage.setItem(KEY_PREFIX + this.username, 'on');
      else this.storage.removeItem(KEY_PREFIX + this.username);
    } catch {
      // Storage full or disabled: the choice lasts until the page reloads.
    }
  }
}
