import { EventEmitter } from 'node:events';

type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * An EventEmitter with a typed event map whose emit never throws: a failing listener is reported
 * through `onListenerError` so that one bad listener cannot break a teardown (mediasoup's safeEmit).
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #emitter = new EventEmitter();
  static onListenerError: (event: string, error: unknown) => void = (event, error) => {
    console.error(`listener for "${event}" threw`, error);
  };

  constructor() {
    this.#emitter.setMaxListeners(Infinity);
  }

  on<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    this.#emitter.on(event, listener as Listener<unknown[]>);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    this.#emitter.once(event, listener as Listener<unknown[]>);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: Listener<Events[K]>): this {
    this.#emitter.off(event, listener as Listener<unknown[]>);
    return this;
  }

  listenerCount<K extends keyof Events & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    for (const listener of this.#emitter.rawListeners(event)) {
      try {
        (listener as Listener<Events[K]>)(...args);
      } catch (error) {
        TypedEmitter.onListenerError(event, error);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#emitter.removeAllListeners();
  }
}
