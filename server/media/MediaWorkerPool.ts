import type { types } from 'mediasoup';
import type { Logger } from '../logging/createLogger.ts';
import type { IngestDescription } from '../../workers/Ingest.ts';
import { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';
import { MediaWorker, type MediaWorkerSettings } from './MediaWorker.ts';
import type { CameraFeed, FeedHost } from './CameraFeed.ts';
import type { ViewerMedia } from './ViewerMedia.ts';
import { RouterPipe } from './RouterPipe.ts';

export interface MediaWorkerPoolOptions {
  /** Number of mediasoup workers (one per core by default, `MEDIA_WORKERS`). */
  workers: number;
  settings: MediaWorkerSettings;
  logger: Logger;
  /** How often the workers' CPU is sampled (ms); default 2000. */
  cpuSampleMs?: number;
}

export type MediaWorkerPoolObserverEvents = {
  /** A camera feed or viewer media was created on any worker (replacements included). */
  newfeed: [CameraFeed];
  newviewer: [ViewerMedia];
};

/**
 * The mediasoup workers (one per core by default), their routers, and the pipes between them. It
 * places new feeds and viewers on the least loaded worker, replaces a worker that dies, and is the
 * one sampler of the workers' CPU.
 */
export class MediaWorkerPool {
  readonly observer = new ObserverEmitter<MediaWorkerPoolObserverEvents>();
  readonly #workers: MediaWorker[];
  readonly #pipes = new Map<string, Promise<RouterPipe>>();
  #closed = false;
  #retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  readonly #cpuTimer: NodeJS.Timeout;

  readonly settings: MediaWorkerSettings;
  readonly #logger: Logger;

  private constructor(workers: MediaWorker[], options: MediaWorkerPoolOptions) {
    this.settings = options.settings;
    this.#logger = options.logger;
    this.#workers = workers;
    for (const worker of workers) this.#watch(worker);
    this.#cpuTimer = setInterval(() => {
      for (const worker of this.#workers) void worker.sampleCpu().catch(() => undefined);
    }, options.cpuSampleMs ?? 2000);
    this.#cpuTimer.unref();
  }

  static async create(options: MediaWorkerPoolOptions): Promise<MediaWorkerPool> {
    const workers: MediaWorker[] = [];
    try {
      for (let index = 0; index < options.workers; index++) workers.push(await MediaWorker.create(index, options.settings));
    } catch (error) {
      for (const worker of workers) worker.close();
      throw error;
    }
    return new MediaWorkerPool(workers, options);
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

  /** A camera's feed on the least loaded worker. */
  createCameraFeed(cameraId: string, description: IngestDescription): Promise<CameraFeed> {
    return this.leastLoaded().createCameraFeed(cameraId, description, async (from, to, producer) => (await this.pipeProducer(from, to, producer)).pipeProducer);
  }

  /** A viewer's media on the least loaded worker. */
  createViewerMedia(): ViewerMedia {
    return this.leastLoaded().createViewerMedia();
  }

  /** Pipes `producer` from `from`'s router into `to`'s router over their (shared) RouterPipe. */
  async pipeProducer(from: FeedHost, to: FeedHost, producer: types.Producer): Promise<{ pipeConsumer: types.Consumer; pipeProducer: types.Producer }> {
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
    worker.observer.on('newfeed', (feed) => this.observer.notify('newfeed', feed));
    worker.observer.on('newviewer', (viewer) => this.observer.notify('newviewer', viewer));
    worker.once('died', (error) => {
      this.#logger.error({ worker: worker.index, pid: worker.pid, err: error.message }, 'mediasoup worker died');
      for (const key of [...this.#pipes.keys()]) {
        const [a, b] = key.split('-').map(Number);
        if (a === worker.index || b === worker.index) {
          void this.#pipes.get(key)?.then((pipe) => pipe.close(), () => undefined);
          this.#pipes.delete(key);
        }
      }
      if (this.#closed) return;
      void this.#replace(worker.index);
    });
  }

  async #replace(index: number): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const replacement = await MediaWorker.create(index, this.settings);
        if (this.#closed) {
          replacement.close();
          return;
        }
        this.#workers[index] = replacement;
        this.#watch(replacement);
        this.#logger.info({ worker: index, pid: replacement.pid }, 'mediasoup worker replaced');
        return;
      } catch (createError) {
        this.#logger.error({ worker: index, err: (createError as Error).message }, 'could not replace mediasoup worker');
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
    this.observer.clear();
  }
}
