import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { routerMediaCodecs } from './codecs.ts';

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
  /** The worker process died (not closed by us). */
  died: [Error];
  '@close': [];
};

/** One mediasoup worker process with its single Router and its WebRtcServer (UDP and TCP). */
export class MediaWorker extends TypedEmitter<MediaWorkerEvents> {
  /** Consumers on this worker's router, for least-loaded placement. */
  consumers = 0;
  /** Camera producers hosted here. */
  hostedCameras = 0;
  /** Share of one core the worker used over the last sampling period (0..1), from getResourceUsage(). */
  cpu = 0;
  #lastCpuMs: { at: number; used: number } | undefined;
  #closed = false;

  private constructor(
    readonly index: number,
    readonly worker: types.Worker,
    readonly router: types.Router,
    readonly webRtcServer: types.WebRtcServer,
    readonly settings: MediaWorkerSettings,
  ) {
    super();
    worker.on('died', (error) => {
      if (this.#closed) return;
      this.#closed = true;
      this.emit('died', error);
      this.emit('@close');
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
      return new MediaWorker(index, worker, router, webRtcServer, settings);
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

  /**
   * Placement load: consumers and hosted cameras, plus measured CPU (a fully busy core weighs as
   * much as 100 consumers), so a worker busy with heavy streams gets fewer new viewers.
   */
  get load(): number {
    return this.consumers + this.hostedCameras * 2 + this.cpu * 100;
  }

  /** Updates `cpu` from the worker's rusage; called periodically by the pool. */
  async sampleCpu(): Promise<void> {
    if (this.#closed) return;
    const usage = await this.worker.getResourceUsage();
    const used = usage.ru_utime + usage.ru_stime;
    const at = Date.now();
    if (this.#lastCpuMs && at > this.#lastCpuMs.at) {
      this.cpu = Math.max(0, (used - this.#lastCpuMs.used) / (at - this.#lastCpuMs.at));
    }
    this.#lastCpuMs = { at, used };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.worker.close();
    this.emit('@close');
  }
}
