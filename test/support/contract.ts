/** Why the MongoDB run of a contract suite is skipped, or undefined when MONGODB_URI is set. */
export const mongoSkipReason = process.env.MONGODB_URI ? undefined : 'MONGODB_URI is not set (no MongoDB server can be installed on this machine)';

export interface ContractAdapter<R> {
  name: string;
  skipReason?: string | undefined;
  open(): Promise<R>;
}

/**
 * One contract suite per adapter: a fresh repository for each test, closed after it; an adapter
 * with a skip reason is reported as skipped, with the reason.
 */
export function contractSuite<A extends ContractAdapter<{ close(): Promise<void> }>>(
  title: string,
  adapters: A[],
  body: (repo: () => Awaited<ReturnType<A['open']>>, adapter: A) => void,
): void {
  type R = Awaited<ReturnType<A['open']>>;
  for (const adapter of adapters) {
    describe(`${title}: ${adapter.name}`, function () {
      let repo: R | undefined;
      before(function () {
        if (adapter.skipReason) {
          console.log(`      skipped: ${adapter.skipReason}`);
          this.skip();
        }
      });
      beforeEach(async () => {
        repo = (await adapter.open()) as R;
      });
      afterEach(async () => repo?.close());
      body(() => repo!, adapter);
    });
  }
}

/**
 * A repository of an open store whose close() closes the whole store (the repositories of a store
 * share its connection, so each contract test opens and closes a store of its own).
 */
export function closingStore<R extends object>(repository: R, store: { close(): Promise<void> }): R & { close(): Promise<void> } {
  return new Proxy(repository, {
    get(target, key) {
      if (key === 'close') return () => store.close();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as R & { close(): Promise<void> };
}
