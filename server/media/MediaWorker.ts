import { readFileSync } from 'node:fs';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { IngestDescription } from '../../workers/Ingest.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';
import { routerMediaCodecs } from './codecs.ts';
import { CameraFeed, type PipeProducer } from './CameraFeed.ts';
import { ViewerMedia } from './ViewerMedia.ts';

export interface MediaWorkerSettings {
  logLevel: types.WorkerLogLevel;
  listenIp: string;
  announcedIp?: string;
  /** 0: let the worker pick free ports. */
  webRtcPort: number;
  rtcMinPort: number;
  rtcMaxPort: number;
}

export type MediaWorkerEvents = {
  /** The worker process died (not closed by us); everything it hosted is gone. */
  died: [Error];
};

export type MediaWorkerObserverEvents = {
  newfeed: [CameraFeed];
  newviewer: [ViewerMedia];
  close: [];
};

/**
 * One mediasoup worker process with its single Router and its WebRtcServer (UDP and TCP). It
 * creates the camera feeds and viewer media that live on it and keeps them until they close, so
 * its load is what it holds; closing it (or its death) tells each of them "your host closed".
 */
/**
 * mediasoup's close() sends SIGTERM, on which the worker shuts its sockets down gracefully; a TCP
 * connection (ICE-TCP) to a peer whose network vanished has writes queued that never drain, and
 * the worker then waits for the kernel's retransmission timeout (minutes). Past this long it is killed (ms).
 */
const WORKER_EXIT_GRACE_MS = 2000;

function killIfStillAlive(pid: number): void {
  // Unref'd: a worker that exits lets the process end at once; one that does not keeps it alive through its child handle anyway.
  setTimeout(() => {
    let command: string;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return;
    }
    // The pid may have been reused by then: only a mediasoup worker is killed.
    if (!command.includes('mediasoup-worker')) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }, WORKER_EXIT_GRACE_MS).unref();
}

export class MediaWorker extends TypedEmitter<MediaWorkerEvents> {
  readonly observer = new ObserverEmitter<MediaWorkerObserverEvents>();
  readonly #feeds = new Set<CameraFeed>();
  readonly #viewers = new Set<ViewerMedia>();
  #consumers = 0;
  #cpu = 0;
  #lastCpu: { at: number; usedMs: number } | undefined;
  #closed = false;

  private constructor(
    readonly index: number,
    readonly worker: types.Worker,
    readonly router: types.Router,
    readonly webRtcServer: types.WebRtcServer,
  ) {
    super();
    worker.on('died', (error) => {
      if (this.#closed) return;
      this.#closed = true;
      this.#hostClosed();
      this.emit('died', error);
    });
  }

  static async create(index: number, settings: MediaWorkerSettings): Promise<MediaWorker> {
    const worker = await mediasoup.createWorker({
      logLevel: settings.logLevel,
      rtcMinPort: settings.rtcMinPort,
      rtcMaxPort: settings.rtcMaxPort,
      appData: { index },
    });
    try {
      const router = await worker.createRouter({ mediaCodecs: routerMediaCodecs });
      const port = settings.webRtcPort === 0 ? undefined : settings.webRtcPort + index;
      const listen = (protocol: 'udp' | 'tcp'): types.WebRtcServerListenInfo => ({
        protocol,
        ip: settings.listenIp,
        ...(settings.announcedIp && { announcedIp: settings.announcedIp }),
        ...(port !== undefined && { port }),
      });
      const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
      return new MediaWorker(index, worker, router, webRtcServer);
    } catch (error) {
      worker.close();
      throw error;
    }
  }

  get pid(): number {
    return this.worker.pid;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Camera feeds hosted here. */
  get hostedCameras(): number {
    return this.#feeds.size;
  }

  /** Consumers of this worker's viewers (all on this worker's router). */
  get consumers(): number {
    return this.#consumers;
  }

  /** Share of one core the worker used over the last sampling period (0..1); see sampleCpu(). */
  get cpu(): number {
    return this.#cpu;
  }

  /** When `cpu` was last sampled (epoch ms); undefined before the first sample. */
  get cpuSampledAt(): number | undefined {
    return this.#lastCpu?.at;
  }

  /**
   * Placement load: consumers and hosted cameras, plus measured CPU (a fully busy core weighs as
   * much as 100 consumers), so a worker busy with heavy streams gets fewer new viewers.
   */
  get load(): number {
    return this.#consumers + this.#feeds.size * 2 + this.#cpu * 100;
  }

  /** A camera's feed on this worker's router; `pipeProducer` reaches the other workers' routers. */
  async createCameraFeed(cameraId: string, description: IngestDescription, pipeProducer: PipeProducer): Promise<CameraFeed> {
    if (this.#closed) throw new Error(`media worker ${this.index} is closed`);
    const feed = await CameraFeed.create(this, cameraId, description, pipeProducer);
    if (this.#closed) {
      feed.hostClosed();
      throw new Error(`media worker ${this.index} closed while the feed was created`);
    }
    this.#feeds.add(feed);
    feed.observer.once('close', () => this.#feeds.delete(feed));
    this.observer.notify('newfeed', feed);
    return feed;
  }

  /** A viewer's media on this worker (its transport is created on the viewer's request). */
  createViewerMedia(): ViewerMedia {
    if (this.#closed) throw new Error(`media worker ${this.index} is closed`);
    const viewer = new ViewerMedia(this);
    let counted = 0;
    this.#viewers.add(viewer);
    viewer.observer.on('consumers', (count) => {
      this.#consumers += count - counted;
      counted = count;
    });
    viewer.observer.once('close', () => {
      this.#consumers -= counted;
      counted = 0;
      this.#viewers.delete(viewer);
    });
    this.observer.notify('newviewer', viewer);
    return viewer;
  }

  /**
   * Updates `cpu` from the worker's rusage. The pool's timer is its one caller, so one sampling
   * window is shared by placement and metrics.
   */
  async sampleCpu(): Promise<void> {
    if (this.#closed) return;
    const usage = await this.worker.getResourceUsage();
    const usedMs = usage.ru_utime + usage.ru_stime;
    const at = Date.now();
    if (this.#lastCpu && at > this.#lastCpu.at) this.#cpu = Math.max(0, (usedMs - this.#lastCpu.usedMs) / (at - this.#lastCpu.at));
    this.#lastCpu = { at, usedMs };
  }

  /** Closes the worker process; its feeds and viewers learn that their host closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const pid = this.worker.pid;
    this.worker.close();
    killIfStillAlive(pid);
    this.#hostClosed();
  }

  #hostClosed(): void {
    for (const feed of [...this.#feeds]) feed.hostClosed();
    for (const viewer of [...this.#viewers]) viewer.hostClosed();
    this.#feeds.clear();
    this.#viewers.clear();
    this.#consumers = 0;
    this.observer.notify('close');
    this.observer.clear();
  }
}
