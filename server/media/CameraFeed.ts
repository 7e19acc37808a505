import type { types } from 'mediasoup';
import type { IngestDescription, RtpTarget } from '../../workers/Ingest.ts';
import { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';

/** The part of a media worker a feed lives on (declared here so the feed does not import its owner). */
export interface FeedHost {
  readonly index: number;
  readonly pid: number;
  readonly closed: boolean;
  readonly router: types.Router;
}

/** Pipes a producer from its host's router into another worker's router (the pool's RouterPipes). */
export type PipeProducer = (from: FeedHost, to: FeedHost, producer: types.Producer) => Promise<types.Producer>;

/** Counters of one feed, from mediasoup's stats (bytes, packets; bit rate in bit/s). */
export interface FeedStats {
  /** From the ingest into the producer. */
  inPackets: number;
  inBytes: number;
  inBitrate: number;
  lost: number;
  /** To the viewers, summed over the feed's consumers. */
  outBytes: number;
  nacks: number;
  consumers: number;
}

export type CameraFeedObserverEvents = {
  /** The feed closed, by itself or because its host closed. */
  close: [];
};

interface Attachment {
  users: number;
  producer: Promise<types.Producer>;
}

/**
 * One camera run in the SFU: a PlainTransport (comedia, RTCP not muxed, as ffmpeg needs) and the
 * Producer fed by the ingest, on the router of the worker hosting the camera; piped into other
 * workers' routers while viewers there use it. Created by MediaWorker.createCameraFeed(), which
 * keeps it until it closes. Closing the feed closes everything it created.
 */
export class CameraFeed {
  readonly observer = new ObserverEmitter<CameraFeedObserverEvents>();
  readonly #attachments = new Map<number, Attachment>();
  readonly #closeListeners = new Set<() => void>();
  readonly #consumers = new Set<types.Consumer>();
  #closed = false;
  readonly firstRtp: Promise<void>;
  /**
   * Asks the camera for a keyframe outside mediasoup, for a producer that declares no keyframe
   * requests (ffmpeg copying the camera's H.264): set by the camera's session.
   */
  keyframeRequester: (() => void) | undefined;

  private constructor(
    readonly cameraId: string,
    readonly host: FeedHost,
    readonly transport: types.PlainTransport,
    readonly producer: types.Producer,
    private readonly pipeProducer: PipeProducer,
  ) {
    this.firstRtp = new Promise<void>((resolve) => {
      if (transport.tuple.remotePort) resolve();
      else transport.once('tuple', () => resolve());
    });
    // mediasoup closes a transport by itself when its router (its worker) closes: "my host closed".
    transport.once('routerclose', () => this.hostClosed());
    transport.observer.once('close', () => this.close());
  }

  /** Use MediaWorker.createCameraFeed(): the worker must know its feeds. */
  static async create(host: FeedHost, cameraId: string, description: IngestDescription, pipeProducer: PipeProducer): Promise<CameraFeed> {
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
          codecs: [
            {
              ...description.codec,
              rtcpFeedback: description.keyframeRequests
                ? [
                    { type: 'nack', parameter: 'pli' },
                    { type: 'ccm', parameter: 'fir' },
                  ]
                : [],
            },
          ],
          encodings: [{ ssrc: description.ssrc }],
        },
        // Many viewers joining at once ask for one keyframe, not one each.
        ...(description.keyframeRequests && { keyFrameRequestDelay: 1000 }),
        appData: { cameraId },
      });
      return new CameraFeed(cameraId, host, transport, producer, pipeProducer);
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

  /** Consumers of this feed on any router. */
  get consumerCount(): number {
    return this.#consumers.size;
  }

  /** The producer to consume on `worker`'s router (piped there on first need). Pair with detach(). */
  async attach(worker: FeedHost): Promise<types.Producer> {
    if (this.#closed) throw new Error('camera feed closed');
    let attachment = this.#attachments.get(worker.index);
    if (!attachment) {
      const producer = worker.index === this.host.index ? Promise.resolve(this.producer) : this.pipeProducer(this.host, worker, this.producer);
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

  detach(worker: FeedHost): void {
    const attachment = this.#attachments.get(worker.index);
    if (!attachment || --attachment.users > 0) return;
    this.#attachments.delete(worker.index);
    if (worker.index !== this.host.index) void attachment.producer.then((pipeProducer) => pipeProducer.close(), () => undefined);
  }

  /** A viewer's consumer of this feed (made on an attached producer): counted until it closes. */
  addConsumer(consumer: types.Consumer): void {
    if (consumer.closed) return;
    this.#consumers.add(consumer);
    consumer.observer.once('close', () => this.#consumers.delete(consumer));
  }

  /**
   * What the producer receives now (bit/s, mediasoup's rate over its last second); 0 once closed.
   * One request to the worker, whatever the number of viewers (getStats() asks each consumer too).
   */
  async inBitrate(): Promise<number> {
    if (this.#closed) return 0;
    let bitrate = 0;
    for (const stat of await this.producer.getStats().catch(() => [])) bitrate += stat.bitrate;
    return bitrate;
  }

  /** Producer and consumer counters; empty counters once closed. */
  async getStats(): Promise<FeedStats> {
    const stats: FeedStats = { inPackets: 0, inBytes: 0, inBitrate: 0, lost: 0, outBytes: 0, nacks: 0, consumers: this.#consumers.size };
    if (this.#closed) return stats;
    for (const stat of await this.producer.getStats().catch(() => [])) {
      stats.inPackets += stat.packetCount;
      stats.inBytes += stat.byteCount;
      stats.inBitrate += stat.bitrate;
      stats.lost += stat.packetsLost;
    }
    for (const consumer of [...this.#consumers]) {
      for (const stat of await consumer.getStats().catch(() => [])) {
        if (stat.type !== 'outbound-rtp') continue;
        stats.outBytes += stat.byteCount;
        stats.nacks += stat.nackCount;
      }
    }
    return stats;
  }

  onClose(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** "I close": releases the transport (its producer, pipes and consumers go with it). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the producer closes its pipe consumers, hence the pipe producers and their consumers.
    this.transport.close();
    this.#finish();
  }

  /** "My host closed" (its worker died or closed): mediasoup already closed the transport. */
  hostClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#finish();
  }

  #finish(): void {
    this.#attachments.clear();
    this.#consumers.clear();
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
    this.observer.notify('close');
    this.observer.clear();
  }
}
