import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TypedEmitter } from './common/TypedEmitter.ts';
import { IngestError } from './IngestError.ts';
import type { EngineSettings } from './createEngineIngest.ts';
import { fromWorkerSchema, progressEntries, type FromWorker, type ToWorker } from './ingestProtocol.ts';
import { signalGroup, spawnOwned } from './spawnOwned.ts';

/** What a worker's camera receives: every message about its key. */
export interface WorkerCamera {
  onWorkerMessage(message: Extract<FromWorker, { key: string }>): void;
  /** The worker died: the camera's run ends. */
  workerDied(): void;
  /** The camera's last reported bit rate (kbit/s), for placement. */
  readonly kbps: number;
}

export interface IngestWorkerStats {
  pid: number;
  cameras: number;
  /** Share of one core over the last report interval (0..n). */
  cpuRatio: number;
  residentBytes: number;
  privateBytes: number;
}

type Reply = Extract<FromWorker, { type: 'opened' | 'done' | 'failed' }>;
type Request = Extract<ToWorker, { id: number }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type IngestWorkerEvents = {
  /** The process ended (crash, kill, or close()). */
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** An ffmpeg process of one of its cameras started or ended. */
  child: [event: 'spawned' | 'exited', pid: number, command: string];
  /** A line the worker wrote to stderr (an uncaught fault). */
  stderr: [line: string];
};

const READY_TIMEOUT_MS = 15_000;

/**
 * One ingest worker process, seen from the server: started with a Node IPC channel through
 * spawnOwned (own process group, killed with the server), it answers requests (open/stop/close,
 * each with an id) and sends its cameras' events, which go to the camera registered under the key.
 * Every message from the worker is validated; one that does not parse is dropped and counted.
 */
export class IngestWorker extends TypedEmitter<IngestWorkerEvents> {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: IngestError) => void }>();
  readonly #cameras = new Map<string, WorkerCamera>();
  #nextId = 1;
  #exited = false;
  #lastCpu: { micros: number; at: number } | undefined;
  stats: IngestWorkerStats;
  /** Messages from the worker that failed validation. */
  rejected = 0;
  readonly startedAt = Date.now();

  private constructor(child: ChildProcess) {
    super();
    this.#child = child;
    this.stats = { pid: child.pid ?? 0, cameras: 0, cpuRatio: 0, residentBytes: 0, privateBytes: 0 };
    child.on('message', (raw) => this.#onMessage(raw));
    // A send to a worker that just died fails with EPIPE as an 'error' event: never an uncaught one.
    child.on('error', () => undefined);
    child.stderr?.setEncoding('utf8');
    let buffer = '';
    child.stderr?.on('data', (chunk: string) => {
      buffer = (buffer + chunk).slice(-64 * 1024);
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.emit('stderr', line.slice(0, 2000));
    });
    child.once('exit', (code, signal) => {
      this.#exited = true;
      for (const { reject } of this.#pending.values()) reject(new IngestError('exited', 'the ingest worker process ended'));
      this.#pending.clear();
      this.emit('exit', code, signal);
    });
  }

  /** Starts a worker and waits for it to say it is ready; throws IngestError('spawn_failed'). */
  static async start(settings: EngineSettings): Promise<IngestWorker> {
    const ts = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(ts ? './ingestWorkerMain.ts' : './ingestWorkerMain.js', import.meta.url));
    // Under tsx the worker needs the same loader; a debugger flag must not be inherited (port clash).
    const execArgv = ts ? process.execArgv.filter((arg) => !arg.startsWith('--inspect')) : [];
    const child = spawnOwned(process.execPath, [...execArgv, entry], ['ignore', 'ignore', 'pipe', 'ipc']);
    const worker = new IngestWorker(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new IngestError('spawn_failed', `the ingest worker was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const fail = (error: IngestError) => {
        clearTimeout(timer);
        signalGroup(child, 'SIGKILL');
        reject(error);
      };
      child.once('error', (error) => fail(new IngestError('spawn_failed', `ingest worker: ${error.message}`)));
      child.once('exit', (code, signal) => fail(new IngestError('spawn_failed', `the ingest worker exited before it was ready (${signal ?? `code ${code}`})`)));
      worker.#onReady = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    worker.send({ type: 'init', settings });
    return worker;
  }

  #onReady: (() => void) | undefined;

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  register(key: string, camera: WorkerCamera): void {
    this.#cameras.set(key, camera);
  }

  unregister(key: string): void {
    this.#cameras.delete(key);
  }

  /** The cameras registered on this worker. */
  cameras(): WorkerCamera[] {
    return [...this.#cameras.values()];
  }

  send(message: ToWorker): void {
    if (this.#exited || !this.#child.connected) return;
    // A failed send (the worker just died) is the 'error' event handled in the constructor.
    this.#child.send(message);
  }

  /** Sends a request and waits for its answer; throws IngestError (the worker's, or 'exited' when it died). */
  request(message: DistributiveOmit<Request, 'id'>): Promise<Extract<Reply, { type: 'opened' | 'done' }>> {
    if (this.#exited || !this.#child.connected) return Promise.reject(new IngestError('exited', 'the ingest worker process ended'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (reply) => (reply.type === 'failed' ? reject(new IngestError(reply.error.reason, reply.error.message)) : resolve(reply)),
        reject,
      });
      this.#child.send({ ...message, id } as Request, (error) => {
        if (!error) return;
        this.#pending.delete(id);
        reject(new IngestError('exited', 'the ingest worker process ended'));
      });
    });
  }

  #onMessage(raw: unknown): void {
    const parsed = fromWorkerSchema.safeParse(raw);
    if (!parsed.success) {
      this.rejected++;
      // An answer that does not validate still ends its request, as a failure.
      const id = (raw as { id?: unknown } | null)?.id;
      const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (pending && typeof id === 'number') {
        this.#pending.delete(id);
        pending.reject(new IngestError('exited', `the ingest worker sent an invalid answer: ${parsed.error.issues[0]?.message ?? 'malformed'}`));
      }
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'ready':
        this.#onReady?.();
        this.#onReady = undefined;
        return;
      case 'opened':
      case 'done':
      case 'failed': {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        pending?.resolve(message);
        return;
      }
      case 'child':
        this.emit('child', message.event, message.pid, message.command);
        return;
      case 'progressBatch': {
        const { valid, rejected } = progressEntries(message.entries);
        this.rejected += rejected;
        for (const entry of valid) this.#cameras.get(entry.key)?.onWorkerMessage({ type: 'progress', ...entry });
        return;
      }
      case 'stats': {
        const now = Date.now();
        const last = this.#lastCpu;
        this.#lastCpu = { micros: message.cpuMicros, at: now };
        this.stats = {
          pid: this.pid,
          cameras: message.cameras,
          cpuRatio: last && now > last.at ? Math.max(0, (message.cpuMicros - last.micros) / 1000 / (now - last.at)) : this.stats.cpuRatio,
          residentBytes: message.residentBytes,
          privateBytes: message.privateBytes,
        };
        return;
      }
      default:
        this.#cameras.get(message.key)?.onWorkerMessage(message);
    }
  }

  /** Asks the worker to stop its cameras and exit; SIGKILL to its group after `graceMs`. Resolves when it has exited. */
  async close(graceMs = 3000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    if (this.#child.connected) this.#child.disconnect();
    else signalGroup(this.#child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.#child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the worker at once (tests: a crash). */
  kill(): void {
    signalGroup(this.#child, 'SIGKILL');
  }
}
