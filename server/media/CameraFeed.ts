import type { types } from 'mediasoup';
import type { IngestDescription, RtpTarget } from '../../workers/Ingest.ts';
import type { MediaWorker } from './MediaWorker.ts';
import type { MediaWorkerPool } from './MediaWorkerPool.ts';

interface Attachment {
  users: number;
  producer: Promise<types.Producer>;
}

/**
 * One camera run in the SFU: a PlainTransport (comedia, RTCP not muxed, as ffmpeg needs) and the
 * Producer fed by the ingest, on the router of the worker hosting the camera; piped into other
 * workers' routers while viewers there use it. Closing the feed closes everything it created.
 */
export class CameraFeed {
  readonly #attachments = new Map<number, Attachment>();
  readonly #closeListeners = new Set<() => void>();
  /** The viewers' consumers of this feed, on any router (metrics read their stats). */
  readonly consumers = new Set<types.Consumer>();
  #closed = false;
  readonly firstRtp: Promise<void>;

  private constructor(
    readonly cameraId: string,
    readonly host: MediaWorker,
    readonly transport: types.PlainTransport,
    readonly producer: types.Producer,
    private readonly pool: MediaWorkerPool,
  ) {
    host.hostedCameras++;
    this.firstRtp = new Promise<void>((resolve) => {
      if (transport.tuple.remotePort) resolve();
      else transport.once('tuple', () => resolve());
    });
    transport.observer.once('close', () => this.close());
  }

  static async create(pool: MediaWorkerPool, host: MediaWorker, cameraId: string, description: IngestDescription): Promise<CameraFeed> {
    const transport = await host.router.createPlainTransport({
      listenIp: '127.0.0.1',
      rtcpMux: false,
      comedia: true,
      appData: { cameraId },
    });
    try {
      const producer = await transport.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [{ ...description.codec, rtcpFeedback: [] }],
          encodings: [{ ssrc: description.ssrc }],
        },
        appData: { cameraId },
      });
      return new CameraFeed(cameraId, host, transport, producer, pool);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rtpTarget(): RtpTarget {
    const rtcp = this.transport.rtcpTuple;
    if (!rtcp) throw new Error('PlainTransport without an RTCP tuple (rtcpMux must be off)');
    return { ip: this.transport.tuple.localIp, rtpPort: this.transport.tuple.localPort, rtcpPort: rtcp.localPort };
  }

  /** The producer to consume on `worker`'s router (piped there on first need). Pair with detach(). */
  async attach(worker: MediaWorker): Promise<types.Producer> {
    if (this.#closed) throw new Error('camera feed closed');
    let attachment = this.#attachments.get(worker.index);
    if (!attachment) {
      const producer =
        worker === this.host
          ? Promise.resolve(this.producer)
          : this.pool.pipeProducer(this.host, worker, this.producer).then(({ pipeProducer }) => pipeProducer);
      attachment = { users: 0, producer };
      this.#attachments.set(worker.index, attachment);
      producer.catch(() => {
        if (this.#attachments.get(worker.index) === attachment) this.#attachments.delete(worker.index);
      });
    }
    attachment.users++;
    try {
      return await attachment.producer;
    } catch (error) {
      attachment.users--;
      throw error;
    }
  }

  detach(worker: MediaWorker): void {
    const attachment = this.#attachments.get(worker.index);
    if (!attachment || --attachment.users > 0) return;
    this.#attachments.delete(worker.index);
    if (worker !== this.host) void attachment.producer.then((pipeProducer) => pipeProducer.close(), () => undefined);
  }

  onClose(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.host.hostedCameras--;
    // Closing the producer closes its pipe consumers, hence the pipe producers and their consumers.
    this.transport.close();
    this.#attachments.clear();
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
  }
}
