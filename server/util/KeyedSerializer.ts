/**
 * Runs changes that share a key one after the other (each starts once the earlier ones of its key
 * have settled, whatever their outcome), and changes of different keys freely. Holds an entry only
 * while a key has a change pending: nothing to close.
 */
export class KeyedSerializer {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, change: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(change);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with a change pending now (tests). */
  get pending(): number {
    return this.#tails.size;
  }
}
