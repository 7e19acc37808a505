import type { types } from 'mediasoup';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';
import type { CameraFeed, FeedHost } from './CameraFeed.ts';

/** The part of a media worker a viewer lives on (declared here so the viewer does not import its owner). */
export interface ViewerHost extends FeedHost {
  readonly webRtcServer: types.WebRtcServer;
}

export interface TransportDescription {
  id: string;
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

export interface ConsumerDescription {
  id: string;
  producerId: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  cameraId: string;
}

export type ViewerMediaEvents = {
  /** A consumer closed by itself (its camera's feed or worker went away). */
  consumerclosed: [{ consumerId: string; cameraId: string }];
  /** The transport closed by itself (its media worker died): create a new one and consume again. */
  transportclosed: [{ transportId: string }];
};

export type ViewerMediaObserverEvents = {
  /** The viewer's media closed (by its owner, or because its host closed). */
  close: [];
  /** The number of its consumers changed (the host's load follows it). */
  consumers: [number];
};

interface ViewerConsumer {
  consumer: types.Consumer;
  feed: CameraFeed;
}

/**
 * One viewer's media: a receive WebRtcTransport on its worker's router (through the worker's
 * WebRtcServer) and one Consumer per tile. Created by MediaWorker.createViewerMedia(), which keeps
 * it until it closes. close() releases all of it.
 */
export class ViewerMedia extends TypedEmitter<ViewerMediaEvents> {
  readonly observer = new ObserverEmitter<ViewerMediaObserverEvents>();
  #transport: types.WebRtcTransport | undefined;
  readonly #consumers = new Map<string, ViewerConsumer>();
  #closed = false;

  /** Use MediaWorker.createViewerMedia(): the worker must know its viewers. */
  constructor(readonly worker: ViewerHost) {
    super();
  }

  get rtpCapabilities(): types.RtpCapabilities {
    return this.worker.router.rtpCapabilities;
  }

  /** False once the viewer or its worker has closed: the owner then opens a new one. */
  get usable(): boolean {
    return !this.#closed && !this.worker.closed;
  }

  get consumerCount(): number {
    return this.#consumers.size;
  }

  async createTransport(options: { tcpOnly?: boolean } = {}): Promise<TransportDescription> {
    this.#assertOpen();
    if (this.#transport) throw new AppError('invalid_state', 'this viewer already has a receive transport');
    const transport = await this.worker.router.createWebRtcTransport({
      webRtcServer: this.worker.webRtcServer,
      enableUdp: !options.tcpOnly,
      enableTcp: true,
      preferUdp: !options.tcpOnly,
    });
    if (this.#closed) {
      transport.close();
      throw new AppError('invalid_state', 'viewer closed');
    }
    this.#transport = transport;
    transport.observer.once('close', () => {
      if (this.#closed) return;
      this.#transport = undefined;
      this.emit('transportclosed', { transportId: transport.id });
    });
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(dtlsParameters: types.DtlsParameters): Promise<void> {
    await this.#requireTransport().connect({ dtlsParameters });
  }

  /** A paused consumer of the camera; allowed before the transport connects (mediasoup-client connects inside consume). */
  async consume(feed: CameraFeed, rtpCapabilities: types.RtpCapabilities): Promise<ConsumerDescription> {
    const transport = this.#requireTransport();
    const producer = await feed.attach(this.worker);
    let consumer: types.Consumer;
    try {
      if (!this.worker.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
        throw new AppError('incompatible', 'the browser cannot receive this camera\'s codec');
      }
      consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, appData: { cameraId: feed.cameraId } });
    } catch (error) {
      feed.detach(this.worker);
      throw error;
    }
    // mediasoup answers a consume queued before the transport's close: such a consumer is dead on arrival.
    if (this.#closed || transport.closed || consumer.closed) {
      consumer.close();
      feed.detach(this.worker);
      throw new AppError('invalid_state', 'viewer closed while consuming');
    }
    this.#consumers.set(consumer.id, { consumer, feed });
    feed.addConsumer(consumer);
    this.observer.notify('consumers', this.#consumers.size);
    consumer.observer.once('close', () => {
      this.#consumers.delete(consumer.id);
      feed.detach(this.worker);
      this.observer.notify('consumers', this.#consumers.size);
    });
    const closedByItself = (): void => this.emit('consumerclosed', { consumerId: consumer.id, cameraId: feed.cameraId });
    consumer.once('producerclose', closedByItself);
    consumer.once('transportclose', closedByItself);
    return { id: consumer.id, producerId: producer.id, kind: consumer.kind, rtpParameters: consumer.rtpParameters, cameraId: feed.cameraId };
  }

  /** Bytes the consumer has sent (its outbound RTP stream's byte count), 0 once it has closed. */
  async consumerBytes(consumerId: string): Promise<number> {
    const entry = this.#consumers.get(consumerId);
    if (!entry || entry.consumer.closed) return 0;
    let bytes = 0;
    for (const stat of await entry.consumer.getStats().catch(() => [])) if (stat.type === 'outbound-rtp') bytes += stat.byteCount;
    return bytes;
  }

  /** New ICE username fragment and password (RFC 8445 section 9): the client restarts its side with them. */
  async restartIce(): Promise<types.IceParameters> {
    return this.#requireTransport().restartIce();
  }

  async pause(consumerId: string): Promise<void> {
    await this.#requireConsumer(consumerId).pause();
  }

  async resume(consumerId: string): Promise<void> {
    const consumer = this.#requireConsumer(consumerId);
    await consumer.resume();
    // Ask the camera for a keyframe: through mediasoup when the producer takes requests, else through the ingest.
    await consumer.requestKeyFrame().catch(() => undefined);
    this.#consumers.get(consumerId)?.feed.keyframeRequester?.();
  }

  closeConsumer(consumerId: string): void {
    this.#requireConsumer(consumerId).close();
  }

  /** "I close": closes the consumers and the transport. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { consumer } of [...this.#consumers.values()]) consumer.close();
    this.#transport?.close();
    this.#transport = undefined;
    this.observer.notify('close');
    this.observer.clear();
  }

  /**
   * "My host closed": mediasoup closes the transport and consumers by itself, and the owner learns
   * it from 'transportclosed' and 'consumerclosed'; the viewer stays usable=false until replaced.
   */
  hostClosed(): void {
    this.observer.notify('close');
    this.observer.clear();
  }

  #assertOpen(): void {
    if (this.#closed || this.worker.closed) throw new AppError('invalid_state', 'viewer closed');
  }

  #requireTransport(): types.WebRtcTransport {
    this.#assertOpen();
    if (!this.#transport || this.#transport.closed) throw new AppError('invalid_state', 'create a receive transport first');
    return this.#transport;
  }

  #requireConsumer(consumerId: string): types.Consumer {
    const entry = this.#consumers.get(consumerId);
    if (!entry) throw new AppError('not_found', `no consumer ${consumerId}`);
    return entry.consumer;
  }
}
