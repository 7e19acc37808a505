/**
 * The per-node limit of concurrent low-tier transcodes (each one an ffmpeg decoding a camera's
 * main stream and encoding a small one: the CPU they cost is what the limit bounds). A slot is
 * taken by LowTierIngest.open() and given back by its stop().
 */
export class LowTierSlots {
  readonly #limit: number;
  #active = 0;

  /** `limit`: transcodes allowed at once on this node (0 turns the low tier off). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`low-tier limit must be a whole number >= 0, got ${limit}`);
    this.#limit = limit;
  }

  /** Takes a slot; false (and nothing taken) when all are in use. */
  take(): boolean {
    if (this.#active >= this.#limit) return false;
    this.#active++;
    return true;
  }

  /** Gives a slot back (pair each successful take() with one give()). */
  give(): void {
    if (this.#active === 0) throw new Error('LowTierSlots.give() without a slot taken');
    this.#active--;
  }

  /** Slots in use. */
  get active(): number {
    return this.#active;
  }

  get limit(): number {
    return this.#limit;
  }
}
