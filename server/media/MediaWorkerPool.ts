import type { types } from 'mediasoup';
import type { Logger } from '../logging/createLogger.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { MediaWorker, type MediaWorkerSettings } from './MediaWorker.ts';
import { RouterPipe } from './RouterPipe.ts';

export type MediaWorkerPoolEvents = {
  /** A worker died and was replaced; everything it hosted is gone. */
  workerreplaced: [{ index: number; error: Error }];
};

/** The mediasoup workers (one per core by default), their routers, and the pipes between them. */
export class MediaWorkerPool extends TypedEmitter<MediaWorkerPoolEvents> {
  readonly #workers: MediaWorker[];
  readonly #pipes = new Map<string, Promise<RouterPipe>>();
  #closed = false;
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  readonly #cpuTimer: NodeJS.Timeout;

  private constructor(
    workers: MediaWorker[],
    readonly settings: MediaWorkerSettings,
    private readonly logger: Logger,
  ) {
    super();
    this.#workers = workers;
    for (const worker of workers) this.#watch(worker);
    this.#cpuTimer = setInterval(() => {
      for (const worker of this.#workers) void worker.sampleCpu().catch(() => undefined);
    }, 2000);
    this.#cpuTimer.unref();
  }

  static async create(count: number, settings: MediaWorkerSettings, logger: Logger): Promise<MediaWorkerPool> {
    const workers: MediaWorker[] = [];
    try {
      for (let index = 0; index < count; index++) workers.push(await MediaWorker.create(index, settings));
    } catch (error) {
      for (const worker of workers) worker.close();
      throw error;
    }
    return new MediaWorkerPool(workers, settings, logger);
  }

  get workers(): readonly MediaWorker[] {
    return this.#workers;
  }

  get rtpCapabilities(): types.RtpCapabilities {
    const first = this.#workers[0];
    if (!first) throw new Error('no media workers');
    return first.router.rtpCapabilities;
  }

  /** The worker with the least load: where a new viewer or camera goes. */
  leastLoaded(): MediaWorker {
    let best: MediaWorker | undefined;
    for (const worker of this.#workers) {
      if (!worker.closed && (!best || worker.load < best.load)) best = worker;
    }
    if (!best) throw new Error('no live media worker');
    return best;
  }

  /** Pipes `producer` from `from`'s router into `to`'s router over their (shared) RouterPipe. */
  async pipeProducer(from: MediaWorker, to: MediaWorker, producer: types.Producer): Promise<{ pipeConsumer: types.Consumer; pipeProducer: types.Producer }> {
    // One pair per pair of workers, whichever way media flows; its local end is on the lower index.
    const [low, high] = from.index < to.index ? [from, to] : [to, from];
    const key = `${low.index}-${high.index}`;
    let pipe = this.#pipes.get(key);
    if (!pipe) {
      const created = RouterPipe.create(low.router, high.router, '127.0.0.1', () => {
        if (this.#pipes.get(key) === created) this.#pipes.delete(key);
      });
      created.catch(() => this.#pipes.delete(key));
      this.#pipes.set(key, created);
      pipe = created;
    }
    return (await pipe).pipe(producer, from === low);
  }

  #watch(worker: MediaWorker): void {
    worker.once('died', (error) => {
      this.logger.error({ worker: worker.index, pid: worker.pid, err: error.message }, 'mediasoup worker died');
      for (const key of [...this.#pipes.keys()]) {
        const [a, b] = key.split('-').map(Number);
        if (a === worker.index || b === worker.index) {
          void this.#pipes.get(key)?.then((pipe) => pipe.close(), () => undefined);
          this.#pipes.delete(key);
        }
      }
      if (this.#closed) return;
      void this.#replace(worker.index, error);
    });
  }

  async #replace(index: number, error: Error): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const replacement = await MediaWorker.create(index, this.settings);
        if (this.#closed) {
          replacement.close();
          return;
        }
        this.#workers[index] = replacement;
        this.#watch(replacement);
        this.logger.info({ worker: index, pid: replacement.pid }, 'mediasoup worker replaced');
        this.emit('workerreplaced', { index, error });
        return;
      } catch (createError) {
        this.logger.error({ worker: index, err: (createError as Error).message }, 'could not replace mediasoup worker');
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            this.#retry = undefined;
            resolve();
          };
          this.#retry = { timer: setTimeout(wake, Math.min(10_000, 500 * 2 ** attempt)), wake };
        });
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#cpuTimer);
    if (this.#retry) {
      clearTimeout(this.#retry.timer);
      this.#retry.wake();
    }
    for (const pipe of this.#pipes.values()) void pipe.then((p) => p.close(), () => undefined);
    this.#pipes.clear();
    for (const worker of this.#workers) worker.close();
  }
}
