import { TypedEmitter } from './TypedEmitter.ts';

/**
 * The `observer` of a class (mediasoup's pattern): monitoring events about an object's life
 * (created, closed) for whoever watches from outside, such as metrics. Only the owner of the
 * object notifies; a failing listener is reported, never thrown into the owner.
 */
export class ObserverEmitter<Events extends { [K in keyof Events]: unknown[] }> extends TypedEmitter<Events> {
  notify<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    this.emit(event, ...args);
  }

  /** Drops every listener (the observed object is gone for good). */
  clear(): void {
    this.removeAllListeners();
  }
}
