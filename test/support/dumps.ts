import type { App } from '../../server/app.ts';

/**
 * mediasoup's own view of every worker, router and WebRtcServer, for "nothing leaked" checks.
 * Lists are sorted: the worker reports some of them from hash maps whose order may change after
 * churn even when their content is the same.
 */
export async function mediaSnapshot(app: App): Promise<unknown> {
  return sortLists(
    await Promise.all(
      app.media.workers.map(async (w) => ({
        worker: await w.worker.dump(),
        router: await w.router.dump(),
        webRtcServer: await w.webRtcServer.dump(),
      })),
    ),
  );
}

function sortLists(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(sortLists);
    return items.every((item) => typeof item === 'string' || typeof item === 'number') ? [...items].sort() : items;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, sortLists(inner)]));
  }
  return value;
}
