import type { Ingest, IngestSource } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import { IngestWorker, type IngestWorkerStats, type WorkerCamera } from './IngestWorker.ts';
import { RemoteIngest, type IngestPlacement } from './RemoteIngest.ts';
import type { EngineSettings } from './createEngineIngest.ts';
import type { ChildProcessLedger } from './ChildProcessLedger.ts';

/** The log calls the pool makes (pino's shape). */
export interface PoolLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface IngestWorkerPoolOptions {
  /** Worker processes (INGEST_WORKERS). */
  size: number;
  settings: EngineSettings;
  ledger?: Pick<ChildProcessLedger, 'add' | 'remove'>;
  logger: PoolLogger;
  /** A camera's ffmpeg stderr line. */
  onLog?: (cameraId: string, line: string) => void;
}

/** One slot of the pool: its current worker (absent while being replaced) and how often it was replaced. */
interface Slot {
  index: number;
  worker: IngestWorker | undefined;
  restarts: number;
  /** Consecutive quick crashes: the replacement waits longer each time. */
  crashes: number;
  timer: NodeJS.Timeout | undefined;
}

export interface IngestWorkerInfo extends IngestWorkerStats {
  index: number;
  alive: boolean;
  restarts: number;
}

/** A worker that lived this long before dying resets the replacement backoff (ms). */
const STABLE_MS = 30_000;
const RESPAWN_MIN_MS = 200;
const RESPAWN_MAX_MS = 30_000;

/**
 * The ingest worker processes (issue 20): `size` Node processes, each carrying many cameras and
 * sending their RTP straight to mediasoup. Cameras are placed on the least loaded live worker when
 * their ingest first opens (load: cameras carried, plus their bit rate). A worker that dies is
 * replaced (after 200 ms, doubling up to 30 s while replacements keep dying young); its cameras' runs
 * end with 'exited' and start again on a live worker with new feeds (RemoteIngest).
 */
export class IngestWorkerPool implements IngestPlacement {
  readonly #options: IngestWorkerPoolOptions;
  readonly #slots: Slot[] = [];
  /** Which worker carries each camera key. */
  readonly #placed = new Map<string, IngestWorker>();
  #closed = false;

  private constructor(options: IngestWorkerPoolOptions) {
    this.#options = options;
  }

  static async create(options: IngestWorkerPoolOptions): Promise<IngestWorkerPool> {
    const pool = new IngestWorkerPool(options);
    try {
      for (let index = 0; index < options.size; index++) pool.#slots.push({ index, worker: undefined, restarts: 0, crashes: 0, timer: undefined });
      const started = await Promise.allSettled(pool.#slots.map(async (slot) => (slot.worker = await pool.#spawn(slot))));
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** The ingest of one camera, carried by a worker of this pool. */
  createIngest(camera: IngestSource): Ingest {
    return new RemoteIngest(this, camera, this.#options.onLog && ((line) => this.#options.onLog!(camera.id, line)));
  }

  place(key: string, camera: WorkerCamera): IngestWorker {
    const live = this.#slots.map((slot) => slot.worker).filter((worker): worker is IngestWorker => !!worker?.alive);
    if (this.#closed || live.length === 0) throw new IngestError('exited', 'no ingest worker process is running (one is being replaced)');
    // Load: cameras carried, each weighted by its bit rate (a 4 Mbit/s camera counts as two idle ones).
    const load = (worker: IngestWorker) => worker.cameras().reduce((sum, carried) => sum + 1 + carried.kbps / 4000, 0);
    const worker = live.reduce((best, candidate) => (load(candidate) < load(best) ? candidate : best));
    this.#placed.get(key)?.unregister(key);
    worker.register(key, camera);
    this.#placed.set(key, worker);
    return worker;
  }

  release(key: string): void {
    this.#placed.get(key)?.unregister(key);
    this.#placed.delete(key);
  }

  /** Every slot's worker: pid, cameras, CPU, memory, restarts. */
  workers(): IngestWorkerInfo[] {
    return this.#slots.map((slot) => ({
      index: slot.index,
      alive: !!slot.worker?.alive,
      restarts: slot.restarts,
      ...(slot.worker?.stats ?? { pid: 0, cameras: 0, cpuRatio: 0, residentBytes: 0, privateBytes: 0 }),
    }));
  }

  /** The live worker in a slot (tests kill it to prove supervision). */
  worker(index: number): IngestWorker | undefined {
    return this.#slots[index]?.worker;
  }

  async #spawn(slot: Slot): Promise<IngestWorker> {
    const worker = await IngestWorker.start(this.#options.settings);
    const { ledger, logger } = this.#options;
    ledger?.add(worker.pid, process.execPath);
    const children = new Set<number>();
    worker.on('child', (event, pid, command) => {
      if (event === 'spawned') {
        children.add(pid);
        ledger?.add(pid, command);
      } else {
        children.delete(pid);
        ledger?.remove(pid);
      }
    });
    // A dead worker's ffmpeg children die with it (pdeathsig): their ledger entries go too.
    worker.once('exit', () => {
      for (const pid of children) ledger?.remove(pid);
    });
    worker.on('stderr', (line) => logger.error({ worker: slot.index, pid: worker.pid }, `ingest worker: ${line}`));
    worker.once('exit', (code, signal) => this.#onExit(slot, worker, code, signal));
    logger.info({ worker: slot.index, pid: worker.pid }, 'ingest worker started');
    return worker;
  }

  #onExit(slot: Slot, worker: IngestWorker, code: number | null, signal: NodeJS.Signals | null): void {
    this.#options.ledger?.remove(worker.pid);
    for (const [key, placed] of this.#placed) if (placed === worker) this.#placed.delete(key);
    const cameras = worker.cameras();
    if (slot.worker === worker) slot.worker = undefined;
    if (this.#closed) return;
    this.#options.logger.error({ worker: slot.index, pid: worker.pid, code, signal, cameras: cameras.length }, 'ingest worker died; its cameras start again on a live worker');
    for (const camera of cameras) camera.workerDied();
    slot.crashes = Date.now() - worker.startedAt < STABLE_MS ? slot.crashes + 1 : 0;
    this.#respawn(slot);
  }

  #respawn(slot: Slot): void {
    const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_MIN_MS * 2 ** Math.max(0, slot.crashes - 1));
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.#closed) return;
      this.#spawn(slot).then(
        (worker) => {
          if (this.#closed) return void worker.close();
          slot.worker = worker;
          slot.restarts++;
        },
        (error: unknown) => {
          this.#options.logger.error({ worker: slot.index, err: (error as Error).message }, 'ingest worker could not be replaced; trying again');
          slot.crashes++;
          this.#respawn(slot);
        },
      );
    }, delay);
  }

  /** Stops every worker (each stops its cameras first; SIGKILL after 3 s). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const slot of this.#slots) if (slot.timer) clearTimeout(slot.timer);
    await Promise.all(this.#slots.map((slot) => slot.worker?.close()));
    this.#placed.clear();
  }
}
