import type { Socket } from 'socket.io';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import type { Identity } from '../auth/Identity.ts';
import type { TokenService } from '../auth/TokenService.ts';
import type { CameraLease } from '../cameras/CameraManager.ts';
import type { CameraListing, LiveMedia, ViewAudit, ViewerAccess, ViewerMediaPort } from './ports.ts';
import type { Viewer } from '../auth/VisibilityPolicy.ts';
import type {
  ClientToServerEvents,
  ConsumerInfo,
  RequestName,
  RequestPayload,
  ResponseMap,
  ServerToClientEvents,
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
  /** A first-frame report for a camera this connection watches (ms). */
  onFirstFrame(ms: number): void;
}

interface Watch {
  lease: CameraLease;
  /** The audited view, once a consumer exists. */
  viewId?: string;
  /** The incident that allowed the view when it started, if one did. */
  incidentId?: string;
  /** Open consumers of the camera on this socket, and ones that closed by themselves (awaiting re-consume). */
  consumers: Set<string>;
}

/** One signed-in socket: its receive transport, consumers and camera leases; all released on disconnect. */
export class ViewerConnection {
  #media: ViewerMediaPort | undefined;
  #transportId: string | undefined;
  readonly #watches = new Map<string, Promise<Watch>>();
  /** consumerId -> cameraId, for open and self-closed consumers. */
  readonly #consumers = new Map<string, { cameraId: string; open: boolean }>();
  #expiryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #address: string | undefined;

  readonly socket: ViewerSocket;
  readonly #access: ViewerAccess;
  readonly #live: LiveMedia;
  readonly #listing: CameraListing;
  readonly #audit: ViewAudit;
  readonly #tokens: TokenService;
  readonly #logger: Logger;
  readonly #onFirstFrame: (ms: number) => void;

  constructor(options: ViewerConnectionOptions) {
    this.socket = options.socket;
    this.#access = options.access;
    this.#live = options.media;
    this.#listing = options.listing;
    this.#audit = options.audit;
    this.#tokens = options.tokens;
    this.#logger = options.logger;
    this.#onFirstFrame = options.onFirstFrame;
    const socket = this.socket;
    this.#address = socket.handshake.address || undefined;
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
          this.socket.emit('consumerClosed', { consumerId, cameraId, reason, ...(message !== undefined && { message }) });
        }
        this.#consumers.delete(consumerId);
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
      let allowed: { incidentId?: string };
      try {
        allowed = await this.#access.authorize(viewer, cameraId);
      } catch (error) {
        this.cameraClosed(cameraId, 'camera_forbidden', why ?? (error as Error).message);
        continue;
      }
      this.#attribute(cameraId, allowed.incidentId);
    }
  }

  /**
   * A view still allowed, but now through another incident (or none, or one where there was none):
   * its audit record stops and a new one starts naming what allows it now, so each incident's report
   * shows the view for as long as that incident allowed it.
   */
  #attribute(cameraId: string, incidentId: string | undefined): void {
    const pending = this.#watches.get(cameraId);
    if (!pending || this.#closed) return;
    void pending.then((watch) => {
      if (this.#watches.get(cameraId) !== pending || !watch.viewId || watch.incidentId === incidentId) return;
      this.#audit.viewStopped(watch.viewId, incidentId ? `now allowed through incident ${incidentId}` : 'no longer allowed through an incident');
      watch.viewId = this.#audit.viewStarted({ userId: this.identity.userId, cameraId, ...(this.#address && { ip: this.#address }), ...(incidentId && { incidentId }) });
      watch.incidentId = incidentId;
    }, () => undefined);
  }

  #viewer(): Viewer & { id: string } {
    return this.#access.currentViewer(this.identity.userId);
  }

  get identity(): Identity {
    return this.socket.data.identity;
  }

  async handle<K extends RequestName>(name: K, payload: RequestPayload<K>): Promise<ResponseMap[K]> {
    if (this.#closed) throw new AppError('invalid_state', 'connection closed');
    if (Date.now() >= this.socket.data.expiresAt) {
      this.socket.disconnect(true);
      throw new AppError('unauthenticated', 'the token has expired');
    }
    const handler = this.handlers[name] as (payload: RequestPayload<K>) => Promise<ResponseMap[K]>;
    return handler(payload);
  }

  private readonly handlers: { [K in RequestName]: (payload: RequestPayload<K>) => Promise<ResponseMap[K]> } = {
    getRouterRtpCapabilities: async () => ({ rtpCapabilities: this.#live.rtpCapabilities as ResponseMap['getRouterRtpCapabilities']['rtpCapabilities'] }),
    listCameras: async (query) => {
      await this.socket.join('cameras');
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
      return { transport: transport as unknown as TransportInfo };
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
    consume: async ({ transportId, cameraId, rtpCapabilities }) => {
      const media = this.#requireTransport(transportId);
      const allowed = await this.#access.authorize(this.#viewer(), cameraId);
      const watch = await this.#watch(cameraId);
      let consumer: Awaited<ReturnType<ViewerMediaPort['consume']>>;
      try {
        const feed = watch.lease.feed;
        if (!feed) throw new AppError('camera_unavailable', 'the camera is restarting', { reason: 'restarting' });
        consumer = await media.consume(feed, rtpCapabilities);
      } catch (error) {
        if (watch.consumers.size === 0 && this.#watches.has(cameraId)) this.#unwatch(cameraId, watch);
        throw error;
      }
      // The connection, its transport or this camera's watch may have gone while mediasoup answered:
      // the consumer then belongs to nobody, so it closes now rather than being counted forever.
      if (this.#closed || this.#media !== media || !this.#watches.has(cameraId)) {
        try {
          media.closeConsumer(consumer.id);
        } catch {
          // Already closed with its viewer media.
        }
        throw new AppError('invalid_state', this.#closed ? 'connection closed' : 'the transport or the view closed while consuming');
      }
      // A new consumer supersedes the ones of this camera that closed by themselves.
      for (const old of [...watch.consumers]) {
        if (this.#consumers.get(old)?.open === false) {
          watch.consumers.delete(old);
          this.#consumers.delete(old);
        }
      }
      watch.consumers.add(consumer.id);
      this.#consumers.set(consumer.id, { cameraId, open: true });
      if (!watch.viewId) {
        watch.viewId = this.#audit.viewStarted({
          userId: this.identity.userId,
          cameraId,
          ...(this.#address && { ip: this.#address }),
          ...(allowed.incidentId && { incidentId: allowed.incidentId }),
        });
        watch.incidentId = allowed.incidentId;
      }
      return { consumer: consumer as unknown as ConsumerInfo };
    },
    pauseConsumer: async ({ consumerId }) => {
      await this.#requireOpenConsumer(consumerId).pause(consumerId);
      return {};
    },
    resumeConsumer: async ({ consumerId }) => {
      await this.#requireOpenConsumer(consumerId).resume(consumerId);
      return {};
    },
    closeConsumer: async ({ consumerId }) => {
      const entry = this.#consumers.get(consumerId);
      if (!entry) throw new AppError('not_found', `no consumer ${consumerId} on this connection`);
      if (entry.open) this.#media?.closeConsumer(consumerId);
      this.#consumers.delete(consumerId);
      const watch = await this.#watches.get(entry.cameraId);
      watch?.consumers.delete(consumerId);
      if (watch && watch.consumers.size === 0) this.#unwatch(entry.cameraId, watch);
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
      this.socket.data.expiresAt = issued.expiresAt;
      this.#armExpiry();
      return issued;
    },
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#releaseMedia();
  }

  /** Closes the transport with its consumers and lets go of every camera. */
  #releaseMedia(): void {
    this.#media?.close();
    this.#media = undefined;
    this.#transportId = undefined;
    const reason = this.#closed ? 'disconnected' : 'transport closed by the viewer';
    for (const [cameraId, pending] of this.#watches) {
      void pending.then((watch) => {
        if (watch.viewId) this.#audit.viewStopped(watch.viewId, reason);
        watch.viewId = undefined;
        watch.lease.release();
      }, () => undefined);
      this.#watches.delete(cameraId);
      void this.socket.leave(`camera:${cameraId}`);
    }
    this.#consumers.clear();
  }

  #openMedia(): ViewerMediaPort {
    if (!this.#media) {
      const media = this.#live.openViewer();
      media.on('consumerclosed', ({ consumerId, cameraId }) => {
        const entry = this.#consumers.get(consumerId);
        if (!entry?.open || this.#closed) return;
        entry.open = false;
        this.socket.emit('consumerClosed', { consumerId, cameraId, reason: 'camera_restarting' });
      });
      media.on('transportclosed', ({ transportId }) => {
        if (this.#closed || this.#media !== media) return;
        // The camera leases stay: the viewer comes back on a new transport and consumes again.
        media.close();
        this.#media = undefined;
        this.#transportId = undefined;
        for (const entry of this.#consumers.values()) entry.open = false;
        this.socket.emit('transportClosed', { transportId, reason: 'media_worker_died' });
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

  /** This socket's hold on a camera: one lease per camera, shared by its consumers. */
  #watch(cameraId: string): Promise<Watch> {
    let pending = this.#watches.get(cameraId);
    if (!pending) {
      pending = this.#live.acquire(cameraId).then(async (lease) => {
        if (this.#closed) {
          lease.release();
          throw new AppError('invalid_state', 'connection closed');
        }
        await this.socket.join(`camera:${cameraId}`);
        return { lease, consumers: new Set<string>() };
      });
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
    watch.lease.release();
    void this.socket.leave(`camera:${cameraId}`);
  }

  #armExpiry(): void {
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    const delay = Math.max(0, this.socket.data.expiresAt - Date.now());
    this.#expiryTimer = setTimeout(() => {
      this.#logger.info({ user: this.identity.userId }, 'token expired: disconnecting');
      this.socket.disconnect(true);
    }, Math.min(delay, 2 ** 31 - 1));
  }
}
