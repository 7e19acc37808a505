/**
 * Signed-out sessions (the `sid` claim of their tokens), each kept until the longest-lived token
 * of that session would have expired, then forgotten. In memory only: a restart forgets them
 * (tokens are short-lived, and a session cannot outlive auth.sessionMaxSeconds anyway).
 */
export class SessionRevocations {
  readonly #until = new Map<string, number>();
  readonly #listeners = new Set<(sessionId: string) => void>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(sweepIntervalMs = 60_000) {
    this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs);
    this.#sweeper.unref();
  }

  /** Revokes `sessionId` until `untilMs` (epoch ms) and tells the listeners (open sockets end). */
  revoke(sessionId: string, untilMs: number): void {
    if (untilMs <= Date.now()) return;
    this.#until.set(sessionId, Math.max(untilMs, this.#until.get(sessionId) ?? 0));
    for (const listener of this.#listeners) listener(sessionId);
  }

  isRevoked(sessionId: string): boolean {
    const until = this.#until.get(sessionId);
    if (until === undefined) return false;
    if (until <= Date.now()) {
      this.#until.delete(sessionId);
      return false;
    }
    return true;
  }

  /** Called with the session id of every revocation; returns the unsubscribe. */
  onRevoked(listener: (sessionId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#until.size;
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#listeners.clear();
    this.#until.clear();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [sessionId, until] of this.#until) if (until <= now) this.#until.delete(sessionId);
  }
}
