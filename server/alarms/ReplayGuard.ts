/**
 * Remembers the request ids each device used recently, so a captured signed request cannot be
 * sent again: an id is kept for `retainMs` (twice the signature window: a request outside the
 * window is refused by its timestamp anyway). Only ids of requests whose signature was valid are
 * remembered, so a stranger cannot fill it. Bounded per device (`maxPerDevice`, the rate limit
 * makes more impossible) and swept as it is used.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, Map<string, number>>();
  #lastSweep = 0;

  constructor(
    private readonly retainMs: number,
    private readonly maxPerDevice = 10_000,
  ) {}

  /** True when `requestId` was seen for the device within the retention (a replay); otherwise remembers it. */
  seenBefore(deviceId: string, requestId: string, now = Date.now()): boolean {
    this.#sweep(now);
    let ids = this.#seen.get(deviceId);
    if (!ids) {
      ids = new Map();
      this.#seen.set(deviceId, ids);
    }
    const expiresAt = ids.get(requestId);
    if (expiresAt !== undefined && expiresAt > now) return true;
    if (ids.size >= this.maxPerDevice) {
      // The oldest first (insertion order): a full device forgets its oldest id rather than refusing.
      const oldest = ids.keys().next().value;
      if (oldest !== undefined) ids.delete(oldest);
    }
    ids.delete(requestId);
    ids.set(requestId, now + this.retainMs);
    return false;
  }

  /** Ids remembered now, over every device (metrics, tests). */
  get size(): number {
    let total = 0;
    for (const ids of this.#seen.values()) total += ids.size;
    return total;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 1000) return;
    this.#lastSweep = now;
    for (const [deviceId, ids] of this.#seen) {
      // Insertion order is expiry order (one retention for all): stop at the first live id.
      for (const [id, expiresAt] of ids) {
        if (expiresAt > now) break;
        ids.delete(id);
      }
      if (ids.size === 0) this.#seen.delete(deviceId);
    }
  }
}
