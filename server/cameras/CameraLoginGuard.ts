import { createHash } from 'node:crypto';

export interface LoginGuardSettings {
  /** First wait after a camera refused our credentials (ms); doubles with each refusal. */
  authBackoffMs: number;
  /** Longest wait between login attempts on a refusing camera (ms). */
  authBackoffMaxMs: number;
}

/** A refusal still in force: the camera must not be contacted before `retryAt` (epoch ms). */
export interface LoginRefusal {
  code: 'unauthorized' | 'locked_out' | 'busy';
  message: string;
  retryAt: number;
}

interface Entry {
  credentialKey: string;
  refusal: LoginRefusal;
  /** Refused logins in a row with these credentials. */
  failures: number;
}

/**
 * Remembers, per camera, the refusals that must not be retried at once, for the prober and the
 * ingest alike: refused credentials (unauthorized, locked_out) wait out a doubling backoff unless
 * the credentials change, since each failed login brings a camera nearer to locking the server out;
 * a busy camera is not asked again before its session timeout.
 * Only a digest of the credentials is held, never the credentials.
 */
export class CameraLoginGuard {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, { credentialKey: string; outcome: Promise<unknown> }>();

  constructor(
    private readonly settings: LoginGuardSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** A digest naming a set of credentials (so a change of password lifts the backoff). */
  static credentialKey(username: string | undefined, password: string | undefined): string {
    return createHash('sha256').update(`${username ?? ''}\u0000${password ?? ''}`).digest('base64url').slice(0, 22);
  }

  /** The refusal in force for this camera and these credentials, or undefined: the camera may be contacted. */
  refusal(cameraId: string, credentialKey: string): LoginRefusal | undefined {
    const entry = this.#entries.get(cameraId);
    if (!entry) return undefined;
    const credentialsChanged = entry.credentialKey !== credentialKey && entry.refusal.code !== 'busy';
    if (credentialsChanged || entry.refusal.retryAt <= this.now()) return undefined;
    return { ...entry.refusal };
  }

  /** Whether the camera refused these credentials before (so a 403 now means it locked us out). */
  refusedBefore(cameraId: string, credentialKey: string): boolean {
    const entry = this.#entries.get(cameraId);
    return !!entry && entry.credentialKey === credentialKey && entry.failures > 0;
  }

  /** Records that the camera accepted a session: any refusal is lifted. */
  accepted(cameraId: string): void {
    this.#entries.delete(cameraId);
  }

  /**
   * Records a refusal. unauthorized/locked_out: wait authBackoffMs × 2^(refusals in a row − 1), at most
   * authBackoffMaxMs. busy: wait `retryAfterMs` (the camera's session timeout).
   */
  refused(cameraId: string, credentialKey: string, code: LoginRefusal['code'], message: string, retryAfterMs?: number): LoginRefusal {
    const previous = this.#entries.get(cameraId);
    const earlier = previous?.credentialKey === credentialKey ? previous.failures : 0;
    const failures = code === 'busy' ? earlier : earlier + 1;
    const wait = code === 'busy' ? Math.max(1000, retryAfterMs ?? 60_000) : Math.min(this.settings.authBackoffMaxMs, this.settings.authBackoffMs * 2 ** (failures - 1));
    const refusal = { code, message, retryAt: this.now() + wait };
    this.#entries.set(cameraId, { credentialKey, refusal, failures });
    return { ...refusal };
  }

  /**
   * Runs one contact with a camera at a time: a caller arriving while a contact with the same
   * credentials is in flight (the prober and a first viewer racing) shares its outcome instead of
   * opening a second login, so one wrong password costs one refused login.
   */
  once<T>(cameraId: string, credentialKey: string, contact: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(cameraId);
    if (running && running.credentialKey === credentialKey) return running.outcome as Promise<T>;
    const outcome = contact().finally(() => {
      if (this.#inFlight.get(cameraId)?.outcome === outcome) this.#inFlight.delete(cameraId);
    });
    this.#inFlight.set(cameraId, { credentialKey, outcome });
    return outcome;
  }

  /** Drops what is known of a camera (it was retired, or its URL or credentials changed). */
  forget(cameraId: string): void {
    this.#entries.delete(cameraId);
  }

  get size(): number {
    return this.#entries.size;
  }
}
