/**
 * Parent side of SrtpSink.ts: spawns the sink pinned to one core, asks it for its counters.
 *
 *   const sink = await SrtpSinkProcess.start({ core: 1 });
 *   sink.port; sink.pid; const snap = await sink.snapshot(); await sink.stop();
 *
 * The chain setpriv -> taskset -> node execs in place (one pid, the sink's), and the kernel
 * SIGKILLs the sink if this process dies, whatever way it dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onCore } from './host.ts';
import type { SinkReady, SinkSnapshot } from './SrtpSink.ts';

const SETPRIV = '/usr/bin/setpriv';
const SINK = fileURLToPath(new URL('./SrtpSink.ts', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const SNAPSHOT_TIMEOUT_MS = 10_000;

export class SrtpSinkProcess {
  #serial = 0;
  readonly #pending = new Map<number, { resolve: (s: SinkSnapshot) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #exited: Promise<void>;
  #exitReason: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly pid: number,
    exited: Promise<void>,
    private readonly stderrTail: string[],
  ) {
    this.#exited = exited;
    child.on('message', (message: SinkSnapshot) => {
      if (message.type !== 'snap') return;
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
    void exited.then(() => {
      this.#exitReason = `the sink exited (${child.exitCode ?? child.signalCode}): ${stderrTail.join(' | ') || 'no stderr'}`;
      for (const [id, waiter] of this.#pending) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(this.#exitReason));
        this.#pending.delete(id);
      }
    });
  }

  /** Spawns the sink on `core` (taskset -c) and waits until it listens. */
  static async start(opts: { core: number }): Promise<SrtpSinkProcess> {
    if (!existsSync(SETPRIV)) throw new Error(`${SETPRIV} not found (util-linux)`);
    // process.execArgv carries tsx's loader, so the child runs TypeScript like we do.
    const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ...onCore(opts.core, [process.execPath, ...process.execArgv, SINK])], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const tail: string[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      tail.push(...chunk.split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 10));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const ready = await new Promise<SinkReady>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the sink did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`the sink exited before it was ready: ${tail.join(' | ') || 'no stderr'}`));
        });
        child.on('message', (message: SinkReady) => {
          if (message.type !== 'ready') return;
          clearTimeout(timer);
          resolve(message);
        });
      });
      return new SrtpSinkProcess(child, ready.port, ready.pid, exited, tail);
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    }
  }

  /** The sink's counters now (its clock in `at`). */
  snapshot(): Promise<SinkSnapshot> {
    if (this.#exitReason) return Promise.reject(new Error(this.#exitReason));
    const id = ++this.#serial;
    return new Promise<SinkSnapshot>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the sink did not answer within ${SNAPSHOT_TIMEOUT_MS} ms`));
      }, SNAPSHOT_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.child.send({ type: 'snap', id });
    });
  }

  /** Drops the streams the sink has seen (their transports are closed). */
  forget(): void {
    if (this.child.connected) this.child.send({ type: 'forget' });
  }

  /** Closes the channel (the sink exits on that), SIGKILL if it has not after 2 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.#exited;
    clearTimeout(timer);
  }
}
