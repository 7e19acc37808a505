import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../util/TypedEmitter.ts';
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

  /** Placement load: what a new viewer or camera adds to. */
  get load(): number {
    return this.consumers + this.hostedCameras * 2;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.worker.close();
    this.emit('@close');
  }
}
