/**
 * Waiting, for every benchmark file. Its own module, with no imports, because the in-page load
 * viewers (loadViewersPage.ts) are bundled for the browser and cannot import host.ts (node:fs,
 * node:child_process); the Node side gets it from host.ts with the rest.
 */

/** Resolves after `ms` milliseconds (at the next turn when `ms` <= 0). */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
