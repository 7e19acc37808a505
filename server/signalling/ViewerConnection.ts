import type { Socket } from 'socket.io';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import type { Identity } from '../auth/Identity.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { CameraLease } from '../cameras/CameraManager.ts';
import type { BandwidthPolicy, CameraListing, LiveMedia, ViewAudit, ViewerAccess, ViewerMediaPort } from './ports.ts';
import type { Viewer } from '../auth/VisibilityPolicy.ts';
import type { CameraStreamName } from '../cameras/CameraDirectory.ts';
import { lighterThan, sizeOf, streamForTile, withinCap, type Choice, type StreamOffer } from '../live/StreamPolicy.ts';
import { SessionBandwidthMeter } from './SessionBandwidthMeter.ts';
import type {
  ClientToServerEvents,
  ConsumerInfo,
  IceServer,
  RequestName,
  RequestPayload,
  ResponseMap,
  ResumedSession,
  ServerToClientEvents,
  SessionBandwidth,
  StreamChoice,
  TileSize,
  TransportInfo,
} from './protocol.ts';

export interface SocketData {
  identity: Identity;
  expiresAt: number;
}

export type ViewerSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface ViewerConnectionOptions {
  socket: ViewerSocket;
  access: ViewerAccess;
  media: LiveMedia;
  listing: CameraListing;
  audit: ViewAudit;
  tokens: TokenService;
  logger: Logger;
  bandwidth: BandwidthPolicy;
  /** A first-frame report for a camera this connection watches (ms). */
  onFirstFrame(ms: number): void;
  /** The connection closed (by its owner, or by itself when its token expired while it had no socket). */
  onClose?: () => void;
  /** TURN servers with credentials for a user, given with the receive transport. */
  iceServers?: (userId: string) => IceServer[];
}

interface Watch {
  /** One lease per stream of the camera this socket receives (two during a stream switch). */
  leases: Map<CameraStreamName, StreamHold>;
  /** The audited view, once a consumer exists. */
  viewId?: string;
  /** The incident that allowed the view when it started, if one did. */
  incidentId?: string;
  /** The view is an admin's review of a pending citizen camera (audited as such). */
  review?: boolean;
  /** Open consumers of the camera on this socket, and ones that closed by themselves (awaiting re-consume). */
  consumers: Set<string>;
}

/**
 * One signed-in console session: its receive transport, consumers, camera leases and audited views,
 * driven through its socket. When the socket drops, the owner may `detach()` the session and keep it
 * for a grace period; a reconnecting socket of the same user then takes it back with `attach()`.
 * `close()` releases all of it.
 */
export class ViewerConnection {
  #media: ViewerMediaPort | undefined;
  #transportId: string | undefined;
  readonly #watches = new Map<string, Promise<Watch>>();
  /** consumerId -> its camera and stream, for open and self-closed consumers. */
  readonly #consumers = new Map<string, ConsumerEntry>();
  readonly #meter: SessionBandwidthMeter;
  /** Consumers asked to switch to a lighter stream (streamAdvice): the stream advised and the samples seen since. */
  readonly #advised = new Map<string, { stream: CameraStreamName; samples: number }>();
  /** Stream choices are made one at a time, each reserving its estimate until its consumer is metered. */
  #choosing: Promise<unknown> = Promise.resolve();
  /** Tiles advised to move up to the stream their size asks for (room under the cap). */
  readonly #upgrades = new Map<string, { stream: CameraStreamName }>();
  readonly #upgradeCooldownMs: number;
  readonly #replaceGraceMs: number;
  /** Timers closing consumers that were replaced but not closed by the client. */
  readonly #replaceTimers = new Set<NodeJS.Timeout>();
  #reservedKbps = 0;
  /** Consumes in flight, by camera: a camera's watch is not ended under one of them. */
  readonly #consumesInFlight = new Map<string, number>();
  /** Consecutive samples over the cap. */
  #overCapSamples = 0;
  #expiryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The address of the socket driving the session (a resumed session's is its new socket's: the network changed). */
  #address: string | undefined;
  #socket: ViewerSocket;
  /** Date.now() when the socket dropped and the session was kept (undefined: a socket drives it). */
  #detachedAt: number | undefined;
  /** Rooms the session's socket is in (joined again by the socket that takes the session back). */
  readonly #rooms = new Set<string>();
  /** Events kept while detached (MISSED_EVENTS): sent to the socket that takes the session back. */
  readonly #missed: Array<{ event: MissedEvent; payload: never }> = [];
  /** The page is hidden: its consumers are paused on the server and stay paused. */
  #hidden = false;
  readonly #onClose: (() => void) | undefined;
  readonly #iceServers: ((userId: string) => IceServer[]) | undefined;

  readonly #access: ViewerAccess;
  readonly #live: LiveMedia;
  readonly #listing: CameraListing;
  readonly #audit: ViewAudit;
  readonly #tokens: TokenService;
  readonly #logger: Logger;
  readonly #onFirstFrame: (ms: number) => void;

  constructor(options: ViewerConnectionOptions) {
    this.#socket = options.socket;
    this.#onClose = options.onClose;
    this.#iceServers = options.iceServers;
    this.#access = options.access;
    this.#live = options.media;
    this.#listing = options.listing;
    this.#audit = options.audit;
    this.#tokens = options.tokens;
    this.#logger = options.logger;
    this.#onFirstFrame = options.onFirstFrame;
    this.#address = options.socket.handshake.address || undefined;
    this.#upgradeCooldownMs = options.bandwidth.upgradeCooldownMs;
    this.#replaceGraceMs = options.bandwidth.replaceGraceMs;
    this.#meter = new SessionBandwidthMeter({
      sampleMs: options.bandwidth.sampleMs,
      // The role is read each time: a user whose role changes is held to the new role's cap.
      capKbps: () => options.bandwidth.capKbps(this.identity.role),
      readBytes: (consumerId) => this.#media?.consumerBytes(consumerId) ?? Promise.resolve(0),
      onSample: (sample) => this.#sampled(sample),
    });
    this.#armExpiry();
  }

  /** A camera this socket watches was withdrawn or changed in the catalog: its consumers are gone. */
  cameraClosed(cameraId: string, reason: string, message: string | undefined): void {
    const pending = this.#watches.get(cameraId);
    if (!pending || this.#closed) return;
    void pending.then((watch) => {
      if (this.#watches.get(cameraId) !== pending) return;
      if (watch.viewId) {
        this.#audit.viewStopped(watch.viewId, `${reason}${message ? `: ${message}` : ''}`, reason !== 'camera_restarting');
        watch.viewId = undefined;
      }
      for (const consumerId of watch.consumers) {
        const entry = this.#consumers.get(consumerId);
        if (entry?.open) {
          entry.open = false;
          this.#emit('consumerClosed', { consumerId, cameraId, reason, ...(message !== undefined && { message }) });
        }
        this.#forget(consumerId);
      }
      this.#unwatch(cameraId, watch);
    }, () => undefined);
  }

  /**
   * The user's rights or a camera changed: every watched camera (or just those of `onlyCameras`) is
   * checked again, and the ones this user may no longer see are closed with the reason (`why`, when
   * the caller knows it, e.g. "your grant was revoked: ..."; else the policy's).
   */
  async recheck(onlyCameras?: string | readonly string[], why?: string): Promise<void> {
    const only = typeof onlyCameras === 'string' ? [onlyCameras] : onlyCameras;
    let viewer: Viewer & { id: string };
    try {
      viewer = this.#viewer();
    } catch {
      return;
    }
    for (const cameraId of [...this.#watches.keys()]) {
      if (only !== undefined && !only.includes(cameraId)) continue;
      let allowed: { incidentId?: string; review?: boolean };
      try {
        const watch = await this.#watches.get(cameraId)?.catch(() => undefined);
        allowed = await this.#access.authorize(viewer, cameraId, { review: watch?.review === true });
      } catch (error) {
        this.cameraClosed(cameraId, 'camera_forbidden', why ?? (error as Error).message);
        continue;
      }
      this.#attribute(cameraId, allowed.incidentId, allowed.review === true);
    }
  }

  /**
   * A view still allowed, but now through another incident (or none, or one where there was none):
   * its audit record stops and a new one starts naming what allows it now, so each incident's report
   * shows the view for as long as that incident allowed it.
   */
  #attribute(cameraId: string, incidentId: string | undefined, review = false): void {
    const pending = this.#watches.get(cameraId);
    if (!pending || this.#closed) return;
    void pending.then((watch) => {
      if (this.#watches.get(cameraId) !== pending || !watch.viewId || (watch.incidentId === incidentId && (watch.review === true) === review)) return;
      const why = (watch.review === true) !== review ? (review ? 'now a review view' : 'the camera was approved: no longer a review view') : incidentId ? `now allowed through incident ${incidentId}` : 'no longer allowed through an incident';
      this.#audit.viewStopped(watch.viewId, why);
      watch.viewId = this.#audit.viewStarted({ userId: this.identity.userId, cameraId, ...(this.#address && { ip: this.#address }), ...(incidentId && { incidentId }), ...(review && { purpose: 'review' as const }) });
      watch.incidentId = incidentId;
      watch.review = review;
    }, () => undefined);
  }

  #viewer(): Viewer & { id: string } {
    return this.#access.currentViewer(this.identity.userId);
  }

  get identity(): Identity {
    return this.#socket.data.identity;
  }

  /** The socket driving the session now (the last one, while detached). */
  get socket(): ViewerSocket {
    return this.#socket;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Date.now() when the session lost its socket and was kept; undefined while a socket drives it. */
  get detachedAt(): number | undefined {
    return this.#detachedAt;
  }

  /** Whether the session holds anything worth keeping across a dropped socket (a transport or a view). */
  get holdsMedia(): boolean {
    return this.#media !== undefined || this.#watches.size > 0;
  }

  /**
   * The socket dropped and the owner keeps the session for its grace period: media keeps flowing,
   * the cap is not enforced, and the consumers that close meanwhile are told to the next socket.
   */
  detach(): void {
    if (this.#closed || this.#detachedAt !== undefined) return;
    this.#detachedAt = Date.now();
    this.#advised.clear();
    this.#upgrades.clear();
    this.#overCapSamples = 0;
  }

  /**
   * A reconnecting socket of the same user takes the session back (the owner checked the resume
   * token and the user): it joins the session's rooms, hears what closed meanwhile, and the session's
   * expiry follows the new socket's token. Returns what the session still holds.
   */
  attach(socket: ViewerSocket): ResumedSession {
    if (this.#closed) throw new AppError('invalid_state', 'connection closed');
    const detachedMs = this.#detachedAt === undefined ? 0 : Date.now() - this.#detachedAt;
    this.#socket = socket;
    this.#detachedAt = undefined;
    // Views started from now on are audited with the address the console has now.
    this.#address = socket.handshake.address || undefined;
    for (const room of this.#rooms) void socket.join(room);
    this.#armExpiry();
    const consumers: ResumedSession['consumers'] = [];
    for (const [consumerId, entry] of this.#consumers) if (entry.open) consumers.push({ consumerId, cameraId: entry.cameraId, stream: entry.stream });
    const resumed: ResumedSession = { ...(this.#transportId && { transportId: this.#transportId }), consumers, detachedMs };
    // After the answer: the client learns the session first, then what closed while it was away.
    const missed = this.#missed.splice(0);
    setImmediate(() => {
      for (const { event, payload } of missed) if (this.#socket === socket && socket.connected) socket.emit(event, payload);
    });
    return resumed;
  }

  /** Sends an event to the session's socket; while detached, the ones the next socket must hear are kept for it. */
  send<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.#emit(event, ...args);
  }

  #emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    if (this.#detachedAt === undefined) {
      this.#socket.emit(event, ...args);
      return;
    }
    if (MISSED_EVENTS.has(event) && this.#missed.length < MAX_MISSED_EVENTS) {
      this.#missed.push({ event: event as MissedEvent, payload: args[0] as never });
    }
  }

  #join(room: string): void {
    this.#rooms.add(room);
    // A dropped socket has left every room; the next one joins them when it takes the session back.
    if (this.#detachedAt === undefined) void this.#socket.join(room);
  }

  #leave(room: string): void {
    this.#rooms.delete(room);
    if (this.#detachedAt === undefined) void this.#socket.leave(room);
  }

  async handle<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<ResponseMap[K]> {
    if (this.#closed) throw new AppError('invalid_state', 'connection closed');
    if (Date.now() >= this.#socket.data.expiresAt) {
      this.#socket.disconnect(true);
      throw new AppError('unauthenticated', 'the token has expired');
    }
    const handler = this.handlers[name] as (payload: RequestPayload<K>) => Promise<ResponseMap[K]>;
    return handler(payload);
  }

  private readonly handlers: { [K in RequestName]: (payload: RequestPayload<K>) => Promise<ResponseMap[K]> } = {
    getRouterRtpCapabilities: async () => ({ rtpCapabilities: this.#live.rtpCapabilities as ResponseMap['getRouterRtpCapabilities']['rtpCapabilities'] }),
    listCameras: async (query) => {
      this.#join('cameras');
      return this.#listing.listCameras(query, this.#viewer());
    },
    createTransport: async ({ tcpOnly }) => {
      if (this.#transportId) throw new AppError('invalid_state', 'this connection already has a receive transport');
      if (this.#media && !this.#media.usable) {
        this.#media.close();
        this.#media = undefined;
      }
      const media = this.#openMedia();
      const transport = await media.createTransport({ ...(tcpOnly !== undefined && { tcpOnly }) });
      this.#transportId = transport.id;
      const iceServers = this.#iceServers?.(this.identity.userId) ?? [];
      return { transport: transport as unknown as TransportInfo, ...(iceServers.length > 0 && { iceServers }) };
    },
    connectTransport: async ({ transportId, dtlsParameters }) => {
      await this.#requireTransport(transportId).connectTransport(dtlsParameters);
      return {};
    },
    closeTransport: async ({ transportId }) => {
      this.#requireTransport(transportId);
      this.#releaseMedia();
      return {};
    },
    consume: async (payload) => {
      const { cameraId } = payload;
      this.#consumesInFlight.set(cameraId, (this.#consumesInFlight.get(cameraId) ?? 0) + 1);
      try {
        return await this.#consume(payload);
      } finally {
        const left = (this.#consumesInFlight.get(cameraId) ?? 1) - 1;
        if (left > 0) this.#consumesInFlight.set(cameraId, left);
        else this.#consumesInFlight.delete(cameraId);
      }
    },
    tileResized: async ({ consumerId, tile }) => {
      const entry = this.#consumers.get(consumerId);
      if (!entry) throw new AppError('not_found', `no consumer ${consumerId} on this connection`);
      if (!entry.open) throw new AppError('invalid_state', `consumer ${consumerId} has closed: consume the camera again`);
      entry.tile = tile;
      const offer = await this.#live.streamOffer(entry.cameraId);
      let choice: StreamChoice;
      try {
        ({ choice } = await this.#choose(entry.cameraId, offer, tile, entry.requested, consumerId));
      } catch (error) {
        // Nothing better fits: the tile keeps what it has.
        if (error instanceof AppError && error.code === 'bandwidth_cap') return { stream: streamChoice({ name: entry.stream, reason: 'bandwidth_cap' }, offer), switch: false };
        throw error;
      }
      return { stream: choice, switch: choice.name !== entry.stream };
    },
    pauseConsumer: async ({ consumerId }) => {
      const media = this.#requireOpenConsumer(consumerId);
      this.#consumers.get(consumerId)!.flowing = false;
      await media.pause(consumerId);
      return {};
    },
    resumeConsumer: async ({ consumerId }) => {
      const media = this.#requireOpenConsumer(consumerId);
      this.#consumers.get(consumerId)!.flowing = true;
      // A hidden page's consumers stay paused until it is shown again.
      if (!this.#hidden) await media.resume(consumerId);
      return {};
    },
    restartIce: async ({ transportId }) => {
      const iceParameters = await this.#requireTransport(transportId).restartIce();
      return { iceParameters: iceParameters as ResponseMap['restartIce']['iceParameters'] };
    },
    pageVisibility: async ({ visible }) => {
      if (this.#hidden === !visible) return { consumers: 0 };
      this.#hidden = !visible;
      const media = this.#media;
      if (!media) return { consumers: 0 };
      const flowing = [...this.#consumers].filter(([, entry]) => entry.open && entry.flowing).map(([consumerId]) => consumerId);
      // Resuming asks each camera for a keyframe, so a shown page's tiles have a picture at once.
      const done = await Promise.allSettled(flowing.map((consumerId) => (visible ? media.resume(consumerId) : media.pause(consumerId))));
      return { consumers: done.filter((result) => result.status === 'fulfilled').length };
    },
    closeConsumer: async ({ consumerId }) => {
      const entry = this.#consumers.get(consumerId);
      if (!entry) throw new AppError('not_found', `no consumer ${consumerId} on this connection`);
      if (entry.open) this.#media?.closeConsumer(consumerId);
      this.#forget(consumerId);
      const watch = await this.#watches.get(entry.cameraId);
      watch?.consumers.delete(consumerId);
      if (watch && watch.consumers.size === 0 && !this.#consumesInFlight.has(entry.cameraId)) this.#unwatch(entry.cameraId, watch);
      else if (watch) this.#releaseUnusedLeases(watch);
      return {};
    },
    reportFirstFrame: async ({ cameraId, ms }) => {
      // Only a camera this connection watches counts: a client cannot fill the histogram at will.
      if (!this.#watches.has(cameraId)) throw new AppError('not_found', `this connection does not watch ${cameraId}`);
      this.#onFirstFrame(ms);
      return {};
    },
    refreshToken: async () => {
      const issued = this.#tokens.issue(this.identity);
      this.#socket.data.expiresAt = issued.expiresAt;
      this.#armExpiry();
      return issued;
    },
  };

  async #consume({ transportId, cameraId, rtpCapabilities, tile, stream: requested, replaces, review }: RequestPayload<'consume'>): Promise<ResponseMap['consume']> {
    const media = this.#requireTransport(transportId);
    // The socket that asked: only it can be told of the consumer (its answer is lost with it).
    const asker = this.#socket;
    const allowed = await this.#access.authorize(this.#viewer(), cameraId, { review: review === true });
    if (replaces !== undefined && this.#consumers.get(replaces)?.cameraId !== cameraId) throw new AppError('not_found', `no consumer ${replaces} of ${cameraId} on this connection`);
    const watch = await this.#watch(cameraId);
    // A switch the server advised (streamAdvice) names the stream, but it is not the user's own pick.
    const advice = replaces !== undefined ? (this.#advised.get(replaces) ?? this.#upgrades.get(replaces)) : undefined;
    const followsAdvice = requested !== undefined && advice?.stream === requested;
    const upgrade = followsAdvice && replaces !== undefined && this.#upgrades.has(replaces);
    const userPick = followsAdvice ? undefined : requested;
    let choice: StreamChoice;
    let consumer: Awaited<ReturnType<ViewerMediaPort['consume']>>;
    let reserved = 0;
    try {
      const offer = await this.#live.streamOffer(cameraId);
      ({ choice, kbps: reserved } = await this.#chooseAndReserve(cameraId, offer, tile, requested, replaces));
      if (followsAdvice) choice = { ...choice, reason: upgrade ? 'tile_size' : 'bandwidth_cap' };
      try {
        consumer = await this.#consumeStream(media, watch, cameraId, choice.name, rtpCapabilities);
      } catch (error) {
        // A substream that would not start: the tile gets what it would get with no substream.
        if (choice.name !== 'sub' || userPick || !(error instanceof AppError) || !SUBSTREAM_DOWN.has(error.code)) throw error;
        this.#reservedKbps -= reserved;
        reserved = 0;
        let fallback: StreamChoice;
        ({ choice: fallback, kbps: reserved } = await this.#chooseAndReserve(cameraId, { ...offer, hasSub: false }, tile, undefined, replaces));
        this.#logger.info({ camera: cameraId, err: error.message, instead: fallback.name }, 'substream unavailable');
        choice = { ...fallback, reason: fallback.reason === 'bandwidth_cap' ? 'bandwidth_cap' : 'substream_down' };
        consumer = await this.#consumeStream(media, watch, cameraId, choice.name, rtpCapabilities);
      }
    } catch (error) {
      this.#reservedKbps -= reserved;
      this.#releaseUnusedLeases(watch);
      // Another consume of this camera in flight (a second tile, a switch) still needs the watch.
      if (watch.consumers.size === 0 && this.#watches.has(cameraId) && (this.#consumesInFlight.get(cameraId) ?? 0) <= 1) this.#unwatch(cameraId, watch);
      throw error;
    }
    this.#reservedKbps -= reserved;
    // The connection, its transport or this camera's watch may have gone while mediasoup answered,
    // or the socket that asked dropped (the session detached, or taken back by another socket that
    // already learnt what it holds): the consumer then belongs to nobody, so it closes now rather
    // than being counted (and audited as watched) forever.
    const unanswerable = this.#detachedAt !== undefined || this.#socket !== asker;
    if (this.#closed || this.#media !== media || !this.#watches.has(cameraId) || unanswerable) {
      try {
        media.closeConsumer(consumer.id);
      } catch {
        // Already closed with its viewer media.
      }
      if (!this.#closed && this.#watches.has(cameraId)) {
        this.#releaseUnusedLeases(watch);
        if (watch.consumers.size === 0 && (this.#consumesInFlight.get(cameraId) ?? 0) <= 1) this.#unwatch(cameraId, watch);
      }
      throw new AppError('invalid_state', this.#closed ? 'connection closed' : unanswerable ? 'the socket that asked for this consumer is gone' : 'the transport or the view closed while consuming');
    }
    // A new consumer supersedes the ones of this camera that closed by themselves.
    for (const old of [...watch.consumers]) {
      if (this.#consumers.get(old)?.open === false) {
        watch.consumers.delete(old);
        this.#forget(old);
      }
    }
    watch.consumers.add(consumer.id);
    const previous = replaces !== undefined ? this.#consumers.get(replaces) : undefined;
    const tileNow = tile ?? previous?.tile;
    this.#consumers.set(consumer.id, {
      cameraId,
      stream: choice.name,
      open: true,
      ...(userPick && { requested: userPick }),
      ...(tileNow && { tile: tileNow }),
      ...(choice.reason === 'bandwidth_cap' && { cappedAt: performance.now() }),
    });
    this.#meter.add(consumer.id, { cameraId, stream: choice.name, estimateKbps: reserved });
    this.#releaseUnusedLeases(watch);
    if (replaces !== undefined && previous?.open) this.#closeReplacedLater(replaces);
    if (!watch.viewId) {
      watch.viewId = this.#audit.viewStarted({
        userId: this.identity.userId,
        cameraId,
        ...(this.#address && { ip: this.#address }),
        ...(allowed.incidentId && { incidentId: allowed.incidentId }),
        ...(allowed.review && { purpose: 'review' as const }),
      });
      watch.incidentId = allowed.incidentId;
      watch.review = allowed.review === true;
    } else if (allowed.review !== true && watch.review) {
      // The same camera consumed again without review (it was approved meanwhile): the view is now an ordinary one.
      this.#attribute(cameraId, allowed.incidentId, false);
    }
    return { consumer: { ...consumer, cameraId } as unknown as ConsumerInfo, stream: choice };
  }

  /**
   * The client closes a consumer it replaced once the new one plays; one it never closes (the cap
   * left out its rate for the switch) is closed by the server after BANDWIDTH_REPLACE_GRACE_MS.
   */
  #closeReplacedLater(consumerId: string): void {
    const timer = setTimeout(() => {
      this.#replaceTimers.delete(timer);
      const entry = this.#consumers.get(consumerId);
      if (this.#closed || !entry?.open) return;
      entry.open = false;
      try {
        this.#media?.closeConsumer(consumerId);
      } catch {
        // Already closed with its viewer media.
      }
      this.#forget(consumerId);
      void this.#watches.get(entry.cameraId)?.then((watch) => {
        watch.consumers.delete(consumerId);
        this.#releaseUnusedLeases(watch);
      }, () => undefined);
      this.#emit('consumerClosed', { consumerId, cameraId: entry.cameraId, reason: 'replaced', message: `replaced by another stream of ${entry.cameraId} ${this.#replaceGraceMs} ms ago` });
    }, this.#replaceGraceMs);
    this.#replaceTimers.add(timer);
  }

  /**
   * Releases everything. A session never taken back after its socket dropped ends its views' audit
   * records at the moment it dropped.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#replaceTimers) clearTimeout(timer);
    this.#replaceTimers.clear();
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#meter.close();
    this.#missed.length = 0;
    this.#releaseMedia(this.#detachedAt);
    this.#onClose?.();
  }

  /** Closes the transport with its consumers and lets go of every camera (views ended at `endedAt`, else now). */
  #releaseMedia(endedAt?: number): void {
    this.#media?.close();
    this.#media = undefined;
    this.#transportId = undefined;
    const reason = this.#closed ? 'disconnected' : 'transport closed by the viewer';
    for (const [cameraId, pending] of this.#watches) {
      void pending.then((watch) => {
        if (watch.viewId) this.#audit.viewStopped(watch.viewId, reason, false, endedAt);
        watch.viewId = undefined;
        this.#releaseLeases(watch);
      }, () => undefined);
      this.#watches.delete(cameraId);
      this.#leave(`camera:${cameraId}`);
    }
    for (const consumerId of [...this.#consumers.keys()]) this.#forget(consumerId);
  }

  #openMedia(): ViewerMediaPort {
    if (!this.#media) {
      const media = this.#live.openViewer();
      media.on('consumerclosed', ({ consumerId }) => {
        const entry = this.#consumers.get(consumerId);
        if (!entry?.open || this.#closed) return;
        entry.open = false;
        this.#meter.remove(consumerId);
        this.#advised.delete(consumerId);
        this.#emit('consumerClosed', { consumerId, cameraId: entry.cameraId, reason: 'camera_restarting' });
      });
      media.on('transportclosed', ({ transportId }) => {
        if (this.#closed || this.#media !== media) return;
        // The camera leases stay: the viewer comes back on a new transport and consumes again.
        media.close();
        this.#media = undefined;
        this.#transportId = undefined;
        for (const [consumerId, entry] of this.#consumers) {
          entry.open = false;
          this.#meter.remove(consumerId);
        }
        this.#advised.clear();
        this.#emit('transportClosed', { transportId, reason: 'media_worker_died' });
      });
      this.#media = media;
    }
    return this.#media;
  }

  #requireTransport(transportId: string): ViewerMediaPort {
    if (!this.#media || this.#transportId !== transportId) {
      throw new AppError('not_found', `no transport ${transportId} on this connection`);
    }
    return this.#media;
  }

  #requireOpenConsumer(consumerId: string): ViewerMediaPort {
    const entry = this.#consumers.get(consumerId);
    if (!entry || !this.#media) throw new AppError('not_found', `no consumer ${consumerId} on this connection`);
    if (!entry.open) throw new AppError('invalid_state', `consumer ${consumerId} has closed: consume the camera again`);
    return this.#media;
  }

  /** This socket's hold on a camera: its audited view and one lease per stream, shared by its consumers. */
  #watch(cameraId: string): Promise<Watch> {
    let pending = this.#watches.get(cameraId);
    if (!pending) {
      pending = (async () => {
        if (this.#closed) throw new AppError('invalid_state', 'connection closed');
        this.#join(`camera:${cameraId}`);
        return { leases: new Map<CameraStreamName, StreamHold>(), consumers: new Set<string>() };
      })();
      const created = pending;
      this.#watches.set(cameraId, created);
      created.catch(() => {
        if (this.#watches.get(cameraId) === created) this.#watches.delete(cameraId);
      });
    }
    return pending;
  }

  #unwatch(cameraId: string, watch: Watch, reason = 'closed by the viewer'): void {
    if (watch.viewId) this.#audit.viewStopped(watch.viewId, reason);
    watch.viewId = undefined;
    this.#watches.delete(cameraId);
    this.#releaseLeases(watch);
    this.#leave(`camera:${cameraId}`);
  }

  /** The stream's lease for this watch, acquired once (the stream starts if nobody watches it yet). */
  #lease(watch: Watch, cameraId: string, stream: CameraStreamName): Promise<CameraLease> {
    let hold = watch.leases.get(stream);
    if (!hold) {
      const created: StreamHold = { pending: this.#live.acquire(cameraId, stream), consuming: 0 };
      hold = created;
      watch.leases.set(stream, created);
      created.pending.then(
        (lease) => {
          created.lease = lease;
          // The watch ended while the stream started: nobody will release it otherwise.
          if (watch.leases.get(stream) !== created) lease.release();
        },
        () => {
          if (watch.leases.get(stream) === created) watch.leases.delete(stream);
        },
      );
    }
    return hold.pending;
  }

  /** A consumer of the camera's stream, its lease held (and counted as in use) meanwhile. */
  async #consumeStream(media: ViewerMediaPort, watch: Watch, cameraId: string, stream: CameraStreamName, rtpCapabilities: object): Promise<Awaited<ReturnType<ViewerMediaPort['consume']>>> {
    const pending = this.#lease(watch, cameraId, stream);
    const hold = watch.leases.get(stream)!;
    hold.consuming++;
    try {
      const lease = await pending;
      const feed = lease.feed;
      if (!feed) throw new AppError('camera_unavailable', 'the camera is restarting', { reason: 'restarting' });
      return await media.consume(feed, rtpCapabilities);
    } finally {
      hold.consuming--;
    }
  }

  #releaseLeases(watch: Watch): void {
    const holds = [...watch.leases.values()];
    watch.leases.clear();
    for (const hold of holds) hold.lease?.release();
  }

  /**
   * Lets go of the streams of a camera that none of its consumers (open, or waiting to be consumed
   * again) uses; a lease still being acquired belongs to a consume in flight and is left to it.
   */
  #releaseUnusedLeases(watch: Watch): void {
    const used = new Set([...watch.consumers].map((consumerId) => this.#consumers.get(consumerId)?.stream));
    for (const [stream, hold] of [...watch.leases]) {
      if (used.has(stream) || !hold.lease || hold.consuming > 0) continue;
      watch.leases.delete(stream);
      hold.lease.release();
    }
  }

  /** Runs `step` after the session's previous stream choices (one at a time). */
  #serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#choosing.then(step, step);
    this.#choosing = run.catch(() => undefined);
    return run;
  }

  /** Drops a consumer's entry and its metering. */
  #forget(consumerId: string): void {
    this.#consumers.delete(consumerId);
    this.#meter.remove(consumerId);
    this.#advised.delete(consumerId);
  }

  /**
   * The stream a tile gets: the one asked for, else the one its size calls for; then held to the
   * role's cap (a lighter stream, or bandwidth_cap). `replaces`: a consumer whose rate is not counted.
   */
  async #choose(cameraId: string, offer: StreamOffer, tile: TileSize | undefined, requested: CameraStreamName | undefined, replaces: string | undefined): Promise<{ choice: StreamChoice; kbps: number }> {
    if (requested === 'sub' && !offer.hasSub) throw new AppError('not_found', `camera ${cameraId} has no substream`);
    if (requested === 'low' && !offer.lowAvailable) throw new AppError('camera_unavailable', 'no low-tier transcode is free on this server', { reason: 'low_tier_full' });
    const wanted: Choice = requested ? { name: requested, reason: 'requested' } : streamForTile(tile, offer);
    const estimates = new Map<CameraStreamName, number>();
    for (const name of [wanted.name, ...lighterThan(wanted.name, offer)]) estimates.set(name, await this.#live.estimateKbps(cameraId, name));
    const chosen = withinCap(wanted, offer, { capKbps: this.#meter.capKbps, usedKbps: this.#meter.usedKbps(replaces) + this.#reservedKbps, estimateKbps: (name) => estimates.get(name) ?? 0 });
    if ('refused' in chosen) throw new AppError('bandwidth_cap', chosen.message, { capKbps: this.#meter.capKbps, wouldBeKbps: chosen.wouldBeKbps });
    return { choice: streamChoice(chosen, offer), kbps: estimates.get(chosen.name) ?? 0 };
  }

  /**
   * #choose, one at a time per session, reserving the chosen stream's estimate (kbit/s) until its
   * consumer is metered (the caller gives it back): tiles opened together cannot all pass the cap.
   */
  #chooseAndReserve(cameraId: string, offer: StreamOffer, tile: TileSize | undefined, requested: CameraStreamName | undefined, replaces: string | undefined): Promise<{ choice: StreamChoice; kbps: number }> {
    return this.#serially(async () => {
      const chosen = await this.#choose(cameraId, offer, tile, requested, replaces);
      this.#reservedKbps += chosen.kbps;
      return chosen;
    });
  }

  /**
   * A sample of the session's bit rates: sent to the console, and, over the cap, the heaviest tile
   * that has a lighter stream is asked to switch (streamAdvice); a tile asked twice samples ago, or
   * with nothing lighter, is closed (consumerClosed 'bandwidth_cap') while the session stays over.
   */
  #sampled(sample: SessionBandwidth): void {
    // Without a socket nobody can follow advice: the cap waits for the session to be taken back.
    if (this.#closed || this.#detachedAt !== undefined) return;
    this.#emit('bandwidth', sample);
    for (const consumer of sample.consumers) if (consumer.measured) this.#live.recordKbps(consumer.cameraId, consumer.stream, consumer.kbps);
    const cap = sample.capKbps;
    if (cap === null || sample.totalKbps <= cap * OVER_CAP_TOLERANCE) {
      this.#overCapSamples = 0;
      this.#advised.clear();
      if (cap !== null) void this.#offerUpgrade(sample, cap).catch((error: unknown) => this.#logger.warn({ err: (error as Error).message }, 'bandwidth upgrade check failed'));
      return;
    }
    this.#overCapSamples++;
    void this.#governCap(sample, cap).catch((error: unknown) => this.#logger.warn({ err: (error as Error).message }, 'bandwidth cap check failed'));
  }

  /**
   * Room under the cap: a tile given a lighter stream for the cap (not by its user) is advised to
   * move to the stream its size asks for, when that fits with 10% to spare. One tile per sample,
   * none within BANDWIDTH_UPGRADE_COOLDOWN_MS of being capped, so a session does not swing between the two.
   */
  async #offerUpgrade(sample: SessionBandwidth, cap: number): Promise<void> {
    this.#upgrades.clear();
    const now = performance.now();
    for (const [consumerId, entry] of this.#consumers) {
      if (!entry.open || entry.requested || entry.cappedAt === undefined || now - entry.cappedAt < this.#upgradeCooldownMs) continue;
      const offer = await this.#live.streamOffer(entry.cameraId);
      const wanted = streamForTile(entry.tile, offer);
      if (STREAM_WEIGHT[wanted.name] <= STREAM_WEIGHT[entry.stream]) continue;
      const total = sample.totalKbps - this.#meter.kbpsOf(consumerId) + (await this.#live.estimateKbps(entry.cameraId, wanted.name));
      if (total > cap * UPGRADE_HEADROOM) continue;
      if (this.#consumers.get(consumerId) !== entry || !entry.open) return;
      this.#upgrades.set(consumerId, { stream: wanted.name });
      entry.cappedAt = undefined;
      this.#emit('streamAdvice', { consumerId, cameraId: entry.cameraId, stream: streamChoice({ ...wanted, reason: 'tile_size' }, offer) });
      return;
    }
  }

  async #governCap(sample: SessionBandwidth, cap: number): Promise<void> {
    this.#upgrades.clear();
    for (const advice of this.#advised.values()) advice.samples++;
    const overdue = [...this.#advised].find(([, advice]) => advice.samples >= ADVICE_GRACE_SAMPLES);
    if (overdue) return this.#closeForCap(overdue[0], sample, cap);
    if (this.#advised.size > 0) return;
    for (const { consumerId, cameraId, stream } of this.#meter.heaviest()) {
      const entry = this.#consumers.get(consumerId);
      if (!entry?.open) continue;
      const offer = await this.#live.streamOffer(cameraId);
      const lighter = lighterThan(stream, offer)[0];
      if (!lighter) continue;
      this.#advised.set(consumerId, { stream: lighter, samples: 0 });
      this.#emit('streamAdvice', { consumerId, cameraId, stream: streamChoice({ name: lighter, reason: 'bandwidth_cap' }, offer) });
      return;
    }
    // Nothing has a lighter stream: after the grace, the newest tile goes.
    if (this.#overCapSamples < ADVICE_GRACE_SAMPLES) return;
    const newest = [...this.#consumers].reverse().find(([, entry]) => entry.open);
    if (newest) this.#closeForCap(newest[0], sample, cap);
  }

  #closeForCap(consumerId: string, sample: SessionBandwidth, cap: number): void {
    const entry = this.#consumers.get(consumerId);
    this.#advised.delete(consumerId);
    this.#overCapSamples = 0;
    if (!entry?.open) return;
    entry.open = false;
    this.#meter.remove(consumerId);
    try {
      this.#media?.closeConsumer(consumerId);
    } catch {
      // Already closed.
    }
    this.#emit('consumerClosed', {
      consumerId,
      cameraId: entry.cameraId,
      reason: 'bandwidth_cap',
      message: `the session used ${sample.totalKbps} kbit/s, over its cap of ${cap} kbit/s`,
    });
  }

  #armExpiry(): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    const delay = Math.max(0, this.#socket.data.expiresAt - Date.now());
    this.#expiryTimer = setTimeout(() => {
      this.#logger.info({ user: this.identity.userId }, 'token expired: disconnecting');
      if (this.#detachedAt === undefined) this.#socket.disconnect(true);
      else this.close();
    }, Math.min(delay, 2 ** 31 - 1));
  }
}

/**
 * Events a detached session keeps for the socket that takes it back (others are sent again at any
 * connection, or the console reloads what they announce): what closed, and a change of rights.
 */
type MissedEvent = 'consumerClosed' | 'transportClosed' | 'rightsChanged';
const MISSED_EVENTS = new Set<string>(['consumerClosed', 'transportClosed', 'rightsChanged']);
/** Events kept for the socket that takes a detached session back, at most. */
const MAX_MISSED_EVENTS = 256;
/** A substream failing to start with one of these is replaced by the main stream for the tile. */
const SUBSTREAM_DOWN = new Set(['camera_unavailable', 'camera_timeout', 'not_found']);
/** A session counts as over its cap above this share of it (measures move by a few percent). */
const OVER_CAP_TOLERANCE = 1.05;
/** Heavier streams first: a tile is only ever moved up to a heavier one. */
const STREAM_WEIGHT: Record<CameraStreamName, number> = { low: 0, sub: 1, main: 2 };
/** A tile is moved up only when the session stays under this share of its cap afterwards. */
const UPGRADE_HEADROOM = 0.9;
/** Samples a tile asked to switch has before it is closed, while the session stays over its cap. */
const ADVICE_GRACE_SAMPLES = 2;

/** A watch's lease on one stream: the acquisition, and the lease once it is live. */
interface StreamHold {
  pending: Promise<CameraLease>;
  lease?: CameraLease;
  /** Consumes in flight on this stream: its lease stays while any is. */
  consuming: number;
}

interface ConsumerEntry {
  cameraId: string;
  stream: CameraStreamName;
  open: boolean;
  /** The tile's last reported size (the stream it should have when the cap allows). */
  tile?: TileSize;
  /** performance.now() when it was given a lighter stream than its tile asks for, because of the cap. */
  cappedAt?: number;
  /** The stream the client asked for explicitly (it keeps it across resizes). */
  requested?: CameraStreamName;
  /** The client resumed it (resumeConsumer) and has not paused it: it flows while the page is shown. */
  flowing?: boolean;
}

/** The protocol's view of a choice. */
function streamChoice(choice: Choice, offer: StreamOffer): StreamChoice {
  const size = choice.width !== undefined && choice.height !== undefined ? { width: choice.width, height: choice.height } : sizeOf(choice.name, offer);
  return { name: choice.name, reason: choice.reason, ...(size && { width: size.width, height: size.height }) };
}
