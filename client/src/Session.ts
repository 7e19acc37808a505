/**
 * The operator's sign-in: the short-lived token, where it is kept (sessionStorage, so a reload
 * keeps the session but a new tab or a closed browser does not), the sign-in with username and
 * password or with a one-time console link code, who is signed in (GET /api/me), and the refresh
 * at ~2/3 of the token's lifetime.
 */
import type { ApiErrorBody, TokenInfo } from '../../server/signalling/protocol.ts';
import { Emitter } from './Emitter.ts';

const STORAGE_KEY = 'c5.session';
const CODE_ENDPOINT = '/api/auth/code';
const LOGIN_ENDPOINT = '/api/auth/login';
const ME_ENDPOINT = '/api/me';
const LOGOUT_ENDPOINT = '/api/auth/logout';
/** A refresh that failed (for example while disconnected) is tried again after this long. */
const REFRESH_RETRY_MS = 5000;

interface StoredToken extends TokenInfo {
  /** Date.now() when the token was received: the lifetime is expiresAt - obtainedAt. */
  obtainedAt: number;
}

export class SignInError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** For 'rate_limited': how long to wait (Retry-After), in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

/** The signed-in user as GET /api/me describes it (the fields the console uses). */
export interface UserInfo {
  id: string;
  username: string;
  displayName: string;
  role: string;
  areas: string[];
  municipalities: string[];
}

export interface SessionEvents {
  /** A new token arrived (sign-in or refresh). */
  token: [info: TokenInfo];
  /** The session ended: the token expired, was refused, or could not be refreshed. */
  signedOut: [reason: string];
}

/** Refreshes the token over the live connection; rejects with an error whose `code` is 'unauthenticated' when refused. */
export type TokenRefresher = () => Promise<TokenInfo>;

export class Session extends Emitter<SessionEvents> {
  #stored: StoredToken | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #refresher: TokenRefresher | undefined;
  #signedOutReason: string | undefined;

  constructor(private readonly storage: Storage) {
    super();
    this.#stored = this.#load();
  }

  /** The current token, or undefined when signed out or expired. */
  get token(): string | undefined {
    const stored = this.#stored;
    if (!stored || stored.expiresAt <= Date.now()) return undefined;
    return stored.token;
  }

  get expiresAt(): number | undefined {
    return this.#stored?.expiresAt;
  }

  get signedIn(): boolean {
    return this.token !== undefined;
  }

  /** Why the session ended, when it did. */
  get signedOutReason(): string | undefined {
    return this.#signedOutReason;
  }

  /**
   * Signs in with the `#code=<code>` of the console link, when the address has one. The hash is
   * removed from the address and history whatever the outcome (a code works only once).
   * Returns true when a code was found and exchanged; throws SignInError when it was refused.
   */
  async signInFromLocation(loc: Location, history: History): Promise<boolean> {
    const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
    const code = params.get('code');
    if (!code) return false;
    history.replaceState(history.state, '', loc.pathname + loc.search);
    this.setToken(await exchange(CODE_ENDPOINT, { code }));
    return true;
  }

  /** Signs in with a username and password; throws SignInError with the server's message when refused. */
  async signIn(username: string, password: string): Promise<void> {
    this.setToken(await exchange(LOGIN_ENDPOINT, { username, password }));
  }

  /**
   * Who is signed in. Throws SignInError: code 'unauthenticated' when the server refuses the
   * token (the caller signs out), other codes when it could not be asked.
   */
  async me(): Promise<UserInfo> {
    const token = this.token;
    if (!token) throw new SignInError('unauthenticated', 'not signed in');
    let response: Response;
    try {
      response = await fetch(ME_ENDPOINT, {
        headers: { accept: 'application/json', authorization: `Bearer ${token}` },
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new SignInError('network', 'the server could not be reached');
    }
    const body = (await response.json().catch(() => undefined)) as (Partial<UserInfo> & { error?: ApiErrorBody }) | undefined;
    if (!response.ok || !body || body.error || typeof body.username !== 'string' || typeof body.role !== 'string') {
      const code = body?.error?.code ?? (response.status === 401 ? 'unauthenticated' : `http_${response.status}`);
      throw new SignInError(code, body?.error?.message ?? `HTTP ${response.status}`);
    }
    return {
      id: String(body.id ?? ''),
      username: body.username,
      displayName: typeof body.displayName === 'string' && body.displayName.length > 0 ? body.displayName : body.username,
      role: body.role,
      areas: Array.isArray(body.areas) ? body.areas : [],
      municipalities: Array.isArray(body.municipalities) ? body.municipalities : [],
    };
  }

  /** Keeps a new token (from sign-in or refresh) and reschedules the refresh. */
  setToken(info: TokenInfo): void {
    this.#stored = { token: info.token, expiresAt: info.expiresAt, obtainedAt: Date.now() };
    this.#signedOutReason = undefined;
    try {
      this.storage.setItem(STORAGE_KEY, JSON.stringify(this.#stored));
    } catch {
      // Storage full or disabled: the session still works until a reload.
    }
    this.emit('token', { token: info.token, expiresAt: info.expiresAt });
    this.#schedule();
  }

  /** Starts refreshing the token at ~2/3 of its lifetime through `refresher`. */
  startRefreshing(refresher: TokenRefresher): void {
    this.#refresher = refresher;
    this.#schedule();
  }

  /**
   * Signs out on the server too (the session's tokens are refused from then on, its sockets end),
   * best effort: the console signs out locally at once, whether or not the server could be told.
   */
  logout(reason: string): Promise<void> {
    const token = this.#stored?.token;
    this.signOut(reason);
    if (!token) return Promise.resolve();
    return fetch(LOGOUT_ENDPOINT, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      credentials: 'same-origin',
      cache: 'no-store',
      keepalive: true,
    }).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Ends the session: forgets the token and tells the listeners why. Idempotent. */
  signOut(reason: string): void {
    const alreadySignedOut = this.#signedOutReason !== undefined;
    this.#clearTimer();
    this.#stored = undefined;
    this.#signedOutReason = reason;
    try {
      this.storage.removeItem(STORAGE_KEY);
    } catch {
      // ignore
    }
    if (!alreadySignedOut) this.emit('signedOut', reason);
  }

  close(): void {
    this.#clearTimer();
    this.#refresher = undefined;
  }

  #schedule(): void {
    this.#clearTimer();
    const stored = this.#stored;
    if (!stored || !this.#refresher) return;
    const lifetime = Math.max(0, stored.expiresAt - stored.obtainedAt);
    const due = stored.obtainedAt + (lifetime * 2) / 3;
    this.#setTimer(Math.max(0, due - Date.now()));
  }

  #setTimer(delayMs: number): void {
    this.#clearTimer();
    // setTimeout's limit is 2^31-1 ms; long-lived tokens are rescheduled when the timer fires.
    this.#refreshTimer = setTimeout(() => void this.#refresh(), Math.min(delayMs, 2 ** 31 - 1));
  }

  #clearTimer(): void {
    if (this.#refreshTimer !== undefined) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  async #refresh(): Promise<void> {
    const stored = this.#stored;
    const refresher = this.#refresher;
    if (!stored || !refresher) return;
    if (stored.expiresAt <= Date.now()) {
      this.signOut('the session has expired');
      return;
    }
    try {
      const info = await refresher();
      if (this.#stored !== stored) return; // signed out or replaced meanwhile
      this.setToken(info);
    } catch (error) {
      if (this.#stored !== stored) return;
      const code = (error as { code?: unknown }).code;
      if (code === 'unauthenticated' || code === 'forbidden') {
        this.signOut((error as Error).message || 'the session has ended');
        return;
      }
      // Probably disconnected: try again soon, and give up when the token has expired.
      const untilExpiry = stored.expiresAt - Date.now();
      this.#setTimer(Math.max(0, Math.min(REFRESH_RETRY_MS, untilExpiry)));
    }
  }

  #load(): StoredToken | undefined {
    try {
      const raw = this.storage.getItem(STORAGE_KEY);
      if (!raw) return undefined;
      const parsed = JSON.parse(raw) as Partial<StoredToken>;
      if (typeof parsed.token !== 'string' || typeof parsed.expiresAt !== 'number' || parsed.expiresAt <= Date.now()) {
        this.storage.removeItem(STORAGE_KEY);
        return undefined;
      }
      return { token: parsed.token, expiresAt: parsed.expiresAt, obtainedAt: typeof parsed.obtainedAt === 'number' ? parsed.obtainedAt : Date.now() };
    } catch {
      return undefined;
    }
  }
}

/** POSTs a sign-in request; resolves with the token or throws SignInError with the server's message. */
async function exchange(endpoint: string, body: Record<string, string>): Promise<TokenInfo> {
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new SignInError('network', 'the server could not be reached');
  }
  const answer = (await response.json().catch(() => undefined)) as (Partial<TokenInfo> & { error?: ApiErrorBody }) | undefined;
  if (!response.ok || !answer || answer.error || typeof answer.token !== 'string' || typeof answer.expiresAt !== 'number') {
    const error = answer?.error;
    const code = error?.code ?? `http_${response.status}`;
    let message = error?.message ?? `sign-in failed (HTTP ${response.status})`;
    const retryAfter = retryAfterSeconds(response, error);
    if (code === 'rate_limited' || response.status === 429) {
      if (retryAfter !== undefined) {
        const wait = formatWait(retryAfter);
        message = /try again in \d+ ?s\b/.test(message) ? message.replace(/try again in \d+ ?s\b/, `try again in ${wait}`) : `${message}: try again in ${wait}`;
        message = `${message} (at ${new Date(Date.now() + retryAfter * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })})`;
      }
    }
    throw new SignInError(code, message, retryAfter);
  }
  return { token: answer.token, expiresAt: answer.expiresAt };
}

/** 45 -> "45 s", 899 -> "15 min". */
function formatWait(seconds: number): string {
  return seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`;
}

function retryAfterSeconds(response: Response, error: ApiErrorBody | undefined): number | undefined {
  const fromDetails = error?.details?.retryAfterSeconds;
  if (typeof fromDetails === 'number' && Number.isFinite(fromDetails)) return Math.max(0, Math.ceil(fromDetails));
  const header = response.headers.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
