/** Retry delays: 1 s, 2 s, 4 s, 8 s, then 10 s, each with +-10 % jitter so tiles do not retry in step. */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly minMs = 1000,
    private readonly maxMs = 10000,
  ) {}

  /** The delay before the next attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 16);
    return Math.round(base * (0.9 + Math.random() * 0.2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
