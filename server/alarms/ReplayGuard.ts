/**
 * Remembers the request ids each device used recently, so a captured signed request cannot be sent
 * again: each id is kept until the time its request's timestamp leaves the signature window (after
 * which the timestamp alone refuses it). Only ids of requests whose signature was valid are
 * remembered, so a stranger cannot fill it. Bounded per device (`maxPerDevice`, the rate limit makes
 * more impossible; beyond it the oldest are forgotten) and swept as it is used.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, Map<string, number>>();
  #lastSweep = 0;

  constructor(private readonly maxPerDevice = 10_000) {}

  /**
   * True when `requestId` was seen for the device and is still remembered (a replay); otherwise
   * remembers it until `keepUntil` (epoch ms).
   */
  seenBefore(deviceId: string, requestId: string, now: number, keepUntil: number): boolean {
    this.#sweep(now);
    let ids = this.#seen.get(deviceId);
    if (!ids) {
      ids = new Map();
      this.#seen.set(deviceId, ids);
    }
    const until = ids.get(requestId);
    if (until !== undefined && until > now) return true;
    if (ids.size >= this.maxPerDevice) {
      // The oldest first (insertion order): a full device forgets its oldest id rather than refusing.
      const oldest = ids.keys().next().value;
      if (oldest !== undefined) ids.delete(oldest);
    }
    ids.delete(requestId);
    ids.set(requestId, Math.max(keepUntil, now));
    return false;
  }

  /** Forgets an id (its request was not taken after all: it may come again). */
  forget(deviceId: string, requestId: string): void {
    const ids = this.#seen.get(deviceId);
    ids?.delete(requestId);
    if (ids?.size === 0) this.#seen.delete(deviceId);
  }

  /** What is remembered now, to be carried over a restart (`restore`). */
  snapshot(now = Date.now()): Array<[deviceId: string, requestId: string, until: number]> {
    const entries: Array<[string, string, number]> = [];
    for (const [deviceId, ids] of this.#seen) for (const [id, until] of ids) if (until > now) entries.push([deviceId, id, until]);
    return entries;
  }

  /** Takes back what a `snapshot` held (entries already expired are left out; malformed ones ignored). */
  restore(entries: unknown, now = Date.now()): void {
    if (!Array.isArray(entries)) return;
    for (const entry of entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string' || typeof entry[2] !== 'number' || entry[2] <= now) continue;
      let ids = this.#seen.get(entry[0]);
      if (!ids) this.#seen.set(entry[0], (ids = new Map()));
      if (ids.size < this.maxPerDevice) ids.set(entry[1], entry[2]);
    }
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
      for (const [id, until] of ids) if (until <= now) ids.delete(id);
      if (ids.size === 0) this.#seen.delete(deviceId);
    }
  }
}
