/**
 * What a benchmark started, stopped in reverse order exactly once: at the end of main(), or on
 * SIGINT/SIGTERM/SIGHUP (then the process exits 130). Each step has a time limit so one stuck peer
 * cannot keep the others running.
 *
 *   const cleanups = new Cleanups();
 *   const sim = await Simulator.start(...); cleanups.add('the camera simulator', () => sim.stop());
 *   try { ... } finally { await cleanups.run(); }
 */
const STEP_TIMEOUT_MS = 15_000;

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

export class Cleanups {
  private readonly steps: Array<{ what: string; run: () => Promise<unknown> }> = [];
  private running: Promise<void> | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        process.stderr.write(`bench: ${signal}, cleaning up\n`);
        void this.run().finally(() => process.exit(130));
      });
    }
  }

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run: async () => run() });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        await withTimeout(step.run(), STEP_TIMEOUT_MS, `stopping ${step.what}`).catch((error: unknown) =>
          process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`),
        );
      }
    })();
    return this.running;
  }
}
