/**
 * The browser's side of the media: one mediasoup-client Device and one receive transport per
 * connection, and one Consumer per tile. The server closes the transport when the socket drops,
 * so `open()` runs again after every reconnection (with a fresh Device).
 */
import { Device, type types as msc } from 'mediasoup-client';
import type { ConsumerInfo, StreamChoice, StreamName, TileSize } from '../../server/signalling/protocol.ts';
import { Emitter } from './Emitter.ts';
import type { SignallingClient } from './SignallingClient.ts';

/**
 * consume waits on the server until the camera is live, up to its ingest start timeout (15 s by
 * default). A shorter client timeout would leave a consumer on the server whose id we never learn.
 */
const CONSUME_TIMEOUT_MS = 30000;

export interface ReceivedCamera {
  consumer: msc.Consumer;
  track: MediaStreamTrack;
  /** The stream the server chose for this consumer, and why. */
  stream: StreamChoice;
}

/** What a tile tells the server with its consume: its size, an explicit stream, the consumer it replaces. */
export interface ConsumeOptions {
  tile?: TileSize;
  stream?: StreamName;
  replaces?: string;
}

export interface MediaReceiverEvents {
  /** ICE/DTLS of the receive transport failed: the media path is gone until a new transport. */
  failed: [];
}

export type IceProtocol = 'udp' | 'tcp';

export class MediaReceiver extends Emitter<MediaReceiverEvents> {
  #device: msc.Device | undefined;
  #transport: msc.Transport | undefined;
  #protocol: IceProtocol | undefined;
  #protocolQuery: Promise<void> | undefined;
  readonly #consumers = new Map<string, msc.Consumer>();

  /** tcpOnly: ask the server for its TCP candidate only (networks that block UDP; `?transport=tcp`). */
  constructor(
    private readonly signalling: SignallingClient,
    private readonly options: { tcpOnly?: boolean } = {},
  ) {
    super();
  }

  /** The mediasoup-client handler in use ('Chrome111', 'Firefox120', 'Safari12', ...). */
  get handlerName(): string | undefined {
    return this.#device?.handlerName;
  }

  get ready(): boolean {
    return this.#transport !== undefined && !this.#transport.closed;
  }

  /** 'udp' or 'tcp': the protocol of the selected ICE candidate pair, once known. */
  get protocol(): IceProtocol | undefined {
    return this.#protocol;
  }

  /** Loads a Device with the router's capabilities and creates the receive transport. */
  async open(): Promise<void> {
    this.reset();
    const device = new Device();
    // Both asked at once (the server's transport does not depend on our capabilities): one round
    // trip less before the first consume, and the Device loads while the transport is created.
    const [, { transport: info }] = await Promise.all([
      this.signalling.request('getRouterRtpCapabilities', {}).then(({ rtpCapabilities }) => device.load({ routerRtpCapabilities: rtpCapabilities })),
      this.signalling.request('createTransport', this.options.tcpOnly ? { tcpOnly: true } : {}),
    ]);
    const transport = device.createRecvTransport({
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates,
      dtlsParameters: info.dtlsParameters,
    });
    // mediasoup-client 3.7 emits 'connect' inside the first consume(); the server allows consume before connect.
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signalling
        .request('connectTransport', { transportId: transport.id, dtlsParameters })
        .then(() => callback(), (error: unknown) => errback(error instanceof Error ? error : new Error(String(error))));
    });
    transport.on('connectionstatechange', (state) => {
      if (transport !== this.#transport) return;
      if (state === 'failed') this.emit('failed');
      if (state === 'connected') void this.#queryProtocol(transport);
    });
    this.#device = device;
    this.#transport = transport;
  }

  /**
   * Asks the server for a consumer of `cameraId` and creates its track (still paused on the server).
   * The server picks the stream from `tile` (or `stream`, when given); `replaces` marks a stream switch.
   */
  async consume(cameraId: string, options: ConsumeOptions = {}): Promise<ReceivedCamera> {
    const device = this.#device;
    const transport = this.#transport;
    if (!device || !transport || transport.closed) throw new Error('the media transport is not ready');
    const { codecs = [], headerExtensions } = device.rtpCapabilities;
    const { consumer: info, stream } = await this.signalling.request(
      'consume',
      {
        transportId: transport.id,
        cameraId,
        rtpCapabilities: { codecs, headerExtensions },
        ...(options.tile ? { tile: options.tile } : {}),
        ...(options.stream ? { stream: options.stream } : {}),
        ...(options.replaces ? { replaces: options.replaces } : {}),
      },
      CONSUME_TIMEOUT_MS,
    );
    if (transport !== this.#transport || transport.closed) {
      // The connection was replaced meanwhile; the server already dropped this consumer with its transport.
      throw new Error('the media transport was replaced');
    }
    const consumer = await transport.consume(consumerOptions(info));
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.on('close', () => this.#consumers.delete(consumer.id));
    // A server without stream choice answers no `stream`: it sends the main stream.
    return { consumer, track: consumer.track, stream: stream ?? { name: 'main', reason: 'default' } };
  }

  /** A tile's size changed: the server answers the stream it would give now, and whether to switch to it. */
  async tileResized(consumerId: string, tile: TileSize): Promise<{ stream: StreamChoice; switch: boolean }> {
    return this.signalling.request('tileResized', { consumerId, tile });
  }

  /** Tells the server how long a tile waited for its first frame (its metrics histogram). */
  reportFirstFrame(cameraId: string, ms: number): void {
    if (!this.signalling.connected) return;
    this.signalling.request('reportFirstFrame', { cameraId, ms: Math.round(ms) }).catch(() => undefined);
  }

  /** Lets the server start sending (consumers are created paused so no keyframe is lost). */
  async resume(consumer: msc.Consumer): Promise<void> {
    await this.signalling.request('resumeConsumer', { consumerId: consumer.id });
  }

  /** Closes a consumer here and, unless the server closed it already, on the server too. */
  closeConsumer(consumer: msc.Consumer, options: { notifyServer: boolean }): void {
    if (!consumer.closed) consumer.close();
    this.#consumers.delete(consumer.id);
    if (options.notifyServer && this.signalling.connected) {
      this.signalling.request('closeConsumer', { consumerId: consumer.id }).catch(() => {
        // Already gone on the server (camera restarted, connection lost): nothing to do.
      });
    }
  }

  /** The consumer with this id, if it is one of ours. */
  consumerById(id: string): msc.Consumer | undefined {
    return this.#consumers.get(id);
  }

  /** The server's transport closed by itself (its media worker died). */
  isCurrentTransport(transportId: string): boolean {
    return this.#transport?.id === transportId;
  }

  /** Drops the transport locally (the server closes its side when the socket goes). */
  reset(): void {
    const transport = this.#transport;
    this.#transport = undefined;
    this.#protocol = undefined;
    this.#protocolQuery = undefined;
    this.#consumers.clear();
    if (transport && !transport.closed) transport.close();
  }

  async #queryProtocol(transport: msc.Transport): Promise<void> {
    if (this.#protocolQuery) return this.#protocolQuery;
    this.#protocolQuery = (async () => {
      // The selected pair may take a moment to show up in the stats after 'connected'.
      for (let attempt = 0; attempt < 5 && transport === this.#transport && !transport.closed; attempt++) {
        try {
          const protocol = selectedProtocol(await transport.getStats());
          if (protocol) {
            if (transport === this.#transport) this.#protocol = protocol;
            return;
          }
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    return this.#protocolQuery;
  }
}

function consumerOptions(info: ConsumerInfo): msc.ConsumerOptions {
  return {
    id: info.id,
    producerId: info.producerId,
    kind: info.kind,
    rtpParameters: info.rtpParameters,
    // One stream per consumer: tiles of the same camera must not be grouped for lip sync.
    streamId: info.id,
    appData: { cameraId: info.cameraId },
  };
}

/** The local candidate protocol of the selected ICE candidate pair in an RTCStatsReport. */
export function selectedProtocol(report: RTCStatsReport): IceProtocol | undefined {
  const stats = new Map<string, Record<string, unknown>>();
  report.forEach((value: Record<string, unknown>, key: string) => stats.set(key, value));
  let pair: Record<string, unknown> | undefined;
  for (const s of stats.values()) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      pair = stats.get(s.selectedCandidatePairId);
      if (pair) break;
    }
  }
  if (!pair) {
    // Firefox has no transport stats: the pair flagged as selected (or nominated and succeeded).
    for (const s of stats.values()) {
      if (s.type === 'candidate-pair' && (s.selected === true || (s.nominated === true && s.state === 'succeeded'))) {
        pair = s;
        break;
      }
    }
  }
  const local = typeof pair?.localCandidateId === 'string' ? stats.get(pair.localCandidateId) : undefined;
  const protocol = local?.protocol;
  return protocol === 'udp' || protocol === 'tcp' ? protocol : undefined;
}
