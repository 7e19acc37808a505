/**
 * The browser's side of the media: one mediasoup-client Device and one receive transport per
 * session, and one Consumer per tile. When the socket drops because the network went away, the
 * server keeps the session for a grace period and the next connection takes it back: the transport
 * and consumers stay, and only ICE restarts. Otherwise `open()` runs again (with a fresh Device).
 *
 * ICE is restarted (RFC 8445 section 9: new credentials from the server, `restartIce` here) as soon as
 * the browser reports `disconnected`, without waiting for `failed`; a transport still not connected
 * ICE_RECOVERY_MS after a restart is given up ('failed').
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

/**
 * What a tile tells the server with its consume: its size, an explicit stream, the consumer it
 * replaces, and `review`: an admin's look at a pending citizen camera (audited as a review view).
 */
export interface ConsumeOptions {
  tile?: TileSize;
  stream?: StreamName;
  replaces?: string;
  review?: boolean;
}

export interface MediaReceiverEvents {
  /** ICE/DTLS of the receive transport failed and ICE restarts did not bring it back: a new transport is needed. */
  failed: [];
  /** The transport's ICE/DTLS state changed ('connected', 'disconnected', 'failed', ...) or its protocol became known. */
  state: [state: string];
}

export type IceProtocol = 'udp' | 'tcp';

/** After an ICE restart, a transport not connected again within this long is given up (ms). */
const ICE_RECOVERY_MS = 10_000;
/** ICE restarts of one transport are at least this far apart (ms). */
const ICE_RESTART_MIN_GAP_MS = 2000;
/**
 * A restartIce request sent because ICE broke, unanswered this long, means the socket's network is
 * gone too (a changed address leaves the WebSocket half-open until its ping timeout): the socket is
 * dropped and reconnects at once, taking the session back (ms).
 */
const ICE_RESTART_ANSWER_MS = 800;
/**
 * Received media is checked this often (ms): a transport that was receiving and has received
 * nothing for MEDIA_SILENCE_MS (or twice the longest gap between arrivals lately, for cameras with
 * few frames a second) is treated as ICE 'disconnected' at once. Browsers take several seconds to
 * say so themselves (Chromium about 5 s over TCP), which would be most of a network change's gap.
 */
const MEDIA_CHECK_MS = 250;
const MEDIA_SILENCE_MS = 1000;
/** Gaps between arrivals remembered for the silence threshold (the last 10 s at MEDIA_CHECK_MS). */
const FLOW_GAPS_KEPT = 40;

interface FlowWatch {
  timer: ReturnType<typeof setInterval> | undefined;
  /** Bytes received at the last check, and when (performance.now()) they last grew. */
  bytes: number;
  grewAt: number;
  /** Gaps (ms) between growths lately. */
  gaps: number[];
  /** This silence was acted on. */
  acted: boolean;
  checking: boolean;
}

function newFlowWatch(): FlowWatch {
  return { timer: undefined, bytes: 0, grewAt: 0, gaps: [], acted: false, checking: false };
}

export class MediaReceiver extends Emitter<MediaReceiverEvents> {
  #device: msc.Device | undefined;
  #transport: msc.Transport | undefined;
  #protocol: IceProtocol | undefined;
  #protocolQuery: Promise<void> | undefined;
  /** Whether the selected candidate pair goes through a TURN server. */
  #relayed = false;
  readonly #consumers = new Map<string, msc.Consumer>();
  #state = 'new';
  #restarting: Promise<void> | undefined;
  #lastRestartAt = -Infinity;
  #restarts = 0;
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The silence watch: bytes received at the last check, when they last grew, whether this silence was acted on. */
  #flow = newFlowWatch();

  /**
   * tcpOnly: ask the server for its TCP candidate only (`?transport=tcp`). relayOnly: use only the
   * TURN servers the server gives (`?transport=relay`: networks that allow only TCP 443).
   */
  constructor(
    private readonly signalling: SignallingClient,
    private readonly options: { tcpOnly?: boolean; relayOnly?: boolean } = {},
  ) {
    super();
  }

  /** The transport's last connection state ('new', 'connecting', 'connected', 'disconnected', 'failed', 'closed'). */
  get state(): string {
    return this.#state;
  }

  /** ICE restarts done on the current transport. */
  get iceRestarts(): number {
    return this.#restarts;
  }

  /** Whether the selected candidate pair is relayed by a TURN server. */
  get relayed(): boolean {
    return this.#relayed;
  }

  /**
   * New ICE credentials from the server and an ICE restart here (the network changed, or ICE
   * reported `disconnected`). One at a time; resolves when both sides have restarted.
   */
  restartIce(timeoutMs?: number): Promise<void> {
    const transport = this.#transport;
    if (!transport || transport.closed) return Promise.resolve();
    this.#restarting ??= (async () => {
      this.#lastRestartAt = performance.now();
      const { iceParameters } = await this.signalling.request('restartIce', { transportId: transport.id }, timeoutMs);
      if (transport !== this.#transport || transport.closed) return;
      await transport.restartIce({ iceParameters });
      this.#restarts++;
      this.#armRecovery(transport);
    })().finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /** Tells the server the page was hidden or shown: its consumers pause or resume there. */
  async setPageVisible(visible: boolean): Promise<void> {
    if (!this.signalling.connected) return;
    await this.signalling.request('pageVisibility', { visible });
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
    const [, { transport: info, iceServers }] = await Promise.all([
      this.signalling.request('getRouterRtpCapabilities', {}).then(({ rtpCapabilities }) => device.load({ routerRtpCapabilities: rtpCapabilities })),
      this.signalling.request('createTransport', this.options.tcpOnly ? { tcpOnly: true } : {}),
    ]);
    const transport = device.createRecvTransport({
      id: info.id,
      iceParameters: info.iceParameters,
      iceCandidates: info.iceCandidates,
      dtlsParameters: info.dtlsParameters,
      ...(iceServers && iceServers.length > 0 && { iceServers }),
      ...(this.options.relayOnly && { iceTransportPolicy: 'relay' as const }),
    });
    // mediasoup-client 3.7 emits 'connect' inside the first consume(); the server allows consume before connect.
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      this.signalling
        .request('connectTransport', { transportId: transport.id, dtlsParameters })
        .then(() => callback(), (error: unknown) => errback(error instanceof Error ? error : new Error(String(error))));
    });
    transport.on('connectionstatechange', (state) => {
      if (transport !== this.#transport) return;
      this.#state = state;
      if (state === 'connected') {
        this.#clearRecovery();
        // The path may have changed (an ICE restart, UDP to TCP): ask again.
        this.#protocolQuery = undefined;
        void this.#queryProtocol(transport);
      } else if (state === 'disconnected' || state === 'failed') {
        this.#protocol = undefined;
        this.#iceTrouble(transport, state);
      }
      this.emit('state', state);
    });
    this.#device = device;
    this.#transport = transport;
    this.#watchFlow(transport);
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
        ...(options.review ? { review: true as const } : {}),
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
    this.#relayed = false;
    this.#protocolQuery = undefined;
    this.#state = 'new';
    this.#restarts = 0;
    this.#lastRestartAt = -Infinity;
    this.#clearRecovery();
    if (this.#flow.timer !== undefined) clearInterval(this.#flow.timer);
    this.#flow = newFlowWatch();
    this.#consumers.clear();
    if (transport && !transport.closed) transport.close();
  }

  /**
   * Every MEDIA_CHECK_MS: the bytes the transport has received. Media that flowed and stopped for
   * MEDIA_SILENCE_MS on a visible page (the server pauses a hidden page's consumers) counts as ICE
   * trouble, once per silence; cameras that are all down never flowed, so they trigger nothing.
   */
  #watchFlow(transport: msc.Transport): void {
    const flow = this.#flow;
    flow.timer = setInterval(() => {
      if (flow.checking || transport !== this.#transport || transport.closed) return;
      if (this.#consumers.size === 0 || document.visibilityState === 'hidden') {
        flow.grewAt = performance.now();
        return;
      }
      flow.checking = true;
      transport
        .getStats()
        .then((report) => {
          const bytes = receivedBytes(report);
          const now = performance.now();
          if (bytes > flow.bytes) {
            if (flow.bytes > 0) {
              flow.gaps.push(now - flow.grewAt);
              if (flow.gaps.length > FLOW_GAPS_KEPT) flow.gaps.shift();
            }
            flow.bytes = bytes;
            flow.grewAt = now;
            flow.acted = false;
          } else if (flow.bytes > 0 && !flow.acted && now - flow.grewAt >= Math.max(MEDIA_SILENCE_MS, 2 * Math.max(0, ...flow.gaps))) {
            flow.acted = true;
            this.emit('state', 'silent');
            this.#iceTrouble(transport, 'disconnected');
          }
        })
        .catch(() => undefined)
        .finally(() => {
          flow.checking = false;
        });
    }, MEDIA_CHECK_MS);
  }

  /**
   * ICE reported `disconnected` or `failed` (or the media went silent): restart it now if the server
   * can be asked (else the resumed connection does), and give the transport up if it does not recover.
   */
  #iceTrouble(transport: msc.Transport, state: 'disconnected' | 'failed'): void {
    if (!this.signalling.connected) {
      // The socket is down too: the connection that takes the session back restarts ICE.
      return;
    }
    if (this.#restarting || performance.now() - this.#lastRestartAt < ICE_RESTART_MIN_GAP_MS) {
      if (state === 'failed') this.#armRecovery(transport);
      return;
    }
    this.restartIce(ICE_RESTART_ANSWER_MS).catch((error: unknown) => {
      if (transport !== this.#transport) return;
      // No answer: the socket's network went with the media's. The resumed connection restarts ICE.
      if ((error as { code?: unknown } | undefined)?.code === 'timeout') this.signalling.dropTransport();
      else if (this.#state === 'failed') this.emit('failed');
    });
  }

  #armRecovery(transport: msc.Transport): void {
    if (this.#recoveryTimer !== undefined) return;
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = undefined;
      if (transport === this.#transport && !transport.closed && this.#state !== 'connected') this.emit('failed');
    }, ICE_RECOVERY_MS);
  }

  #clearRecovery(): void {
    if (this.#recoveryTimer !== undefined) clearTimeout(this.#recoveryTimer);
    this.#recoveryTimer = undefined;
  }

  async #queryProtocol(transport: msc.Transport): Promise<void> {
    if (this.#protocolQuery) return this.#protocolQuery;
    this.#protocolQuery = (async () => {
      // The selected pair may take a moment to show up in the stats after 'connected'.
      for (let attempt = 0; attempt < 5 && transport === this.#transport && !transport.closed; attempt++) {
        try {
          const report = await transport.getStats();
          const protocol = selectedProtocol(report);
          if (protocol) {
            if (transport === this.#transport) {
              this.#protocol = protocol;
              this.#relayed = selectedCandidateType(report) === 'relay';
              this.emit('state', this.#state);
            }
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
  const protocol = selectedLocalCandidate(report)?.protocol;
  return protocol === 'udp' || protocol === 'tcp' ? protocol : undefined;
}

/** Bytes received by every inbound RTP stream in an RTCStatsReport. */
function receivedBytes(report: RTCStatsReport): number {
  let bytes = 0;
  report.forEach((value: Record<string, unknown>) => {
    if (value.type === 'inbound-rtp' && typeof value.bytesReceived === 'number') bytes += value.bytesReceived;
  });
  return bytes;
}

/** The local candidate type of the selected pair ('host', 'srflx', 'prflx', 'relay'). */
export function selectedCandidateType(report: RTCStatsReport): string | undefined {
  const type = selectedLocalCandidate(report)?.candidateType;
  return typeof type === 'string' ? type : undefined;
}

function selectedLocalCandidate(report: RTCStatsReport): Record<string, unknown> | undefined {
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
  return typeof pair?.localCandidateId === 'string' ? stats.get(pair.localCandidateId) : undefined;
}
