import { createHash, randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { z } from 'zod';
import type { Logger } from '../logging/createLogger.ts';
import { AppError } from '../errors/AppError.ts';
import type { TokenService } from '../auth/TokenService.ts';
import { VisibilityPolicy, type Viewer } from '../auth/VisibilityPolicy.ts';
import { ObserverEmitter } from '../../workers/common/ObserverEmitter.ts';
import type { AlarmFeed, BandwidthPolicy, CameraListing, LiveEvents, LiveMedia, ViewAudit, ViewerAccess } from './ports.ts';
import { RESUME_TOKEN_PATTERN, schemas, SOCKET_PATH, type IceServer, type ResumedSession, type AlarmDeviceStatusEvent, type AlarmView, type ApiErrorBody, type ClientToServerEvents, type RequestName, type ServerToClientEvents } from './protocol.ts';
import { ViewerConnection, type SocketData } from './ViewerConnection.ts';

export interface SignallingOptions {
  tokens: TokenService;
  access: ViewerAccess;
  media: LiveMedia;
  listing: CameraListing;
  events: LiveEvents;
  audit: ViewAudit;
  /** Alarms sent to a console when it connects (absent: none). */
  alarms?: AlarmFeed;
  logger: Logger;
  /** Socket.IO heartbeat (ms). */
  pingIntervalMs: number;
  pingTimeoutMs: number;
  bandwidth: BandwidthPolicy;
  /**
   * How long a session whose socket dropped (network change, tunnel) keeps its transport, consumers
   * and views for the same user's reconnecting socket (ms); 0: everything closes on disconnect.
   */
  resumeGraceMs: number;
  /** TURN servers with credentials for a user, given with each receive transport (absent: none). */
  iceServers?: (userId: string) => IceServer[];
}

export type SignallingObserverEvents = {
  /** A request was answered; `errorCode` when it failed. */
  request: [{ name: RequestName; errorCode?: string }];
  /** A console reported its time to first frame for a camera it watches (ms). */
  firstframe: [number];
  /** Signed-in connections now (sessions without a socket, kept for their grace period, included). */
  connections: [number];
  /** Sessions kept without a socket now. */
  detached: [number];
  /** A handshake presented a resume token: 'resumed', 'expired' (nothing held), 'refused' (another user's). */
  resume: ['resumed' | 'expired' | 'refused'];
};

/**
 * Socket disconnect reasons that mean the network went away (Socket.IO's names): the session is
 * kept for its grace period. Any other reason (the client or the server closed it) closes it now.
 */
const NETWORK_LOST = new Set(['transport close', 'transport error', 'ping timeout', 'parse error']);
/** Catalog changes within this window (ms) reach consoles as one camerasChanged. */
const CATALOG_COALESCE_MS = 1000;

/** Socket.IO signalling: JWT in the handshake `auth`, every message validated, errors in the ack. */
export class SignallingServer {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  /** Monitoring (metrics): requests, first-frame reports, connection counts. */
  readonly observer = new ObserverEmitter<SignallingObserverEvents>();
  readonly #connections = new Set<ViewerConnection>();
  /**
   * Resume tokens, by their SHA-256 (the token itself is never kept), of every session: a session has
   * exactly one, replaced at each connection. Sessions and their media live in this process, so a
   * resume must reach it: behind several nodes (a Redis adapter), sticky sessions route it here.
   */
  readonly #resumeTokens = new Map<string, ViewerConnection>();
  readonly #tokenOf = new Map<ViewerConnection, string>();
  /** Sessions without a socket: the timer that closes each when its grace period ends. */
  readonly #graceTimers = new Map<ViewerConnection, NodeJS.Timeout>();
  #catalogTimer: NodeJS.Timeout | undefined;
  #catalogPending = false;
  /** Handshakes that presented the resume token of a session of their own user. */
  readonly #claims = new WeakMap<object, ViewerConnection>();
  readonly #unsubscribe: Array<() => void>;

  constructor(httpServer: HttpServer, private readonly options: SignallingOptions) {
    this.io = new Server(httpServer, {
      path: SOCKET_PATH,
      serveClient: false,
      pingInterval: options.pingIntervalMs,
      pingTimeout: options.pingTimeoutMs,
      maxHttpBufferSize: 256 * 1024,
      // Same-origin console only: no cross-origin browser access.
      cors: { origin: false },
    });
    this.io.use((socket, next) => {
      try {
        const auth = socket.handshake.auth as { token?: unknown; resume?: unknown } | undefined;
        const verified = options.tokens.verify(auth?.token);
        // The account as it is now, not as the token remembers it.
        const viewer = options.access.currentViewer(verified.userId);
        socket.data.identity = { userId: verified.userId, role: viewer.role, authTime: verified.authTime, ...(verified.sessionId && { sessionId: verified.sessionId }) };
        socket.data.expiresAt = verified.expiresAt;
        if (auth?.resume !== undefined) {
          if (typeof auth.resume !== 'string' || !RESUME_TOKEN_PATTERN.test(auth.resume)) throw new AppError('invalid_request', 'auth.resume: not a resume token');
          const held = this.#resumeTokens.get(hashToken(auth.resume));
          if (held && !held.closed) {
            if (held.identity.userId !== verified.userId) {
              // Someone else's session: refused, and the session stays its owner's.
              this.observer.notify('resume', 'refused');
              options.logger.warn({ user: verified.userId, owner: held.identity.userId }, 'resume token of another user refused');
              throw new AppError('resume_refused', 'this resume token belongs to another user\'s session');
            }
            this.#claims.set(socket, held);
          }
        }
        next();
      } catch (error) {
        const appError = error instanceof AppError ? error : new AppError('unauthenticated', 'sign-in required');
        next(Object.assign(new Error(appError.message), { data: appError.toJSON() }));
      }
    });
    this.io.on('connection', (socket) => {
      const claimed = this.#claims.get(socket);
      const presented = (socket.handshake.auth as { resume?: unknown } | undefined)?.resume !== undefined;
      let connection: ViewerConnection;
      let resumed: ResumedSession | undefined;
      if (claimed && !claimed.closed) {
        connection = claimed;
        // The old socket may not have noticed yet that its network is gone: this one replaces it.
        const previous = connection.socket;
        this.#clearGrace(connection);
        resumed = connection.attach(socket);
        if (previous !== socket && previous.connected) previous.disconnect(true);
        this.observer.notify('resume', 'resumed');
        this.observer.notify('detached', this.#graceTimers.size);
        options.logger.info({ user: connection.identity.userId, detachedMs: resumed.detachedMs, consumers: resumed.consumers.length }, 'session resumed');
      } else {
        if (presented) this.observer.notify('resume', 'expired');
        connection = new ViewerConnection({
          socket,
          access: options.access,
          media: options.media,
          listing: options.listing,
          audit: options.audit,
          tokens: options.tokens,
          logger: options.logger,
          bandwidth: options.bandwidth,
          ...(options.iceServers && { iceServers: options.iceServers }),
          onFirstFrame: (ms) => this.observer.notify('firstframe', ms),
          onClose: () => this.#forget(connection),
        });
        this.#connections.add(connection);
        this.observer.notify('connections', this.#connections.size);
      }
      // The session event goes first: the client knows its resume token before anything else.
      socket.emit('session', {
        resumeToken: this.#issueResumeToken(connection),
        resumeGraceMs: options.resumeGraceMs,
        ...(resumed && { resumed }),
        ...(presented && !resumed && { resumeExpired: true as const }),
      });
      for (const name of Object.keys(schemas) as RequestName[]) {
        socket.on(name, (payload: unknown, ack: unknown) => void this.#dispatch(connection, name, payload, ack));
      }
      this.#sendActiveAlarms(connection);
      socket.once('disconnect', (reason) => {
        // A socket replaced by a resumed one no longer drives the session.
        if (connection.socket !== socket || connection.closed) return;
        if (options.resumeGraceMs > 0 && NETWORK_LOST.has(reason) && connection.holdsMedia) {
          connection.detach();
          const timer = setTimeout(() => {
            this.#graceTimers.delete(connection);
            this.observer.notify('detached', this.#graceTimers.size);
            options.logger.info({ user: connection.identity.userId }, 'session not resumed within its grace period: closed');
            connection.close();
          }, options.resumeGraceMs);
          this.#graceTimers.set(connection, timer);
          this.observer.notify('detached', this.#graceTimers.size);
          options.logger.debug({ user: socket.data.identity.userId, reason, graceMs: options.resumeGraceMs }, 'viewer disconnected: session kept');
          return;
        }
        connection.close();
        options.logger.debug({ user: socket.data.identity.userId, reason }, 'viewer disconnected');
      });
    });
    const unsubscribeHealth = options.events.onCameraHealth((event) => this.io.to('cameras').emit('cameraHealth', event));
    const unsubscribeState = options.events.onCameraState((status) => {
      const { cameraId, state, since, viewers, reason, message, retryInMs, transcodeReason, engine } = status;
      if (state === 'closed' && (reason === 'withdrawn' || reason === 'changed')) {
        for (const connection of this.#connections) {
          connection.cameraClosed(cameraId, reason === 'withdrawn' ? 'camera_withdrawn' : 'camera_restarting', message);
        }
      }
      this.io.to(`camera:${cameraId}`).to('cameras').emit('cameraState', {
        cameraId, state, since, viewers,
        ...(reason !== undefined && { reason }),
        ...(message !== undefined && { message }),
        ...(retryInMs !== undefined && { retryInMs }),
        ...(transcodeReason !== undefined && { transcodeReason }),
        ...(engine !== undefined && { engine }),
      });
    });
    const unsubscribeRevoked = options.tokens.onRevoked((sessionId) => this.sessionRevoked(sessionId));
    this.#unsubscribe = [unsubscribeHealth, unsubscribeState, unsubscribeRevoked];
  }

  /** A user's account changed: end their sessions if disabled, otherwise re-check what they watch. */
  userChanged(user: { id: string; disabled: boolean; role: string; areas: string[]; municipalities: string[] }): void {
    for (const connection of this.#connections) {
      if (connection.identity.userId !== user.id) continue;
      if (user.disabled) {
        this.#end(connection, 'this account was disabled');
        continue;
      }
      connection.socket.data.identity = { ...connection.identity, role: user.role as never };
      void connection.recheck();
      connection.send('rightsChanged', { role: user.role, areas: user.areas, municipalities: user.municipalities });
    }
  }

  /** A session was signed out: its open sockets end now. */
  sessionRevoked(sessionId: string): void {
    for (const connection of this.#connections) {
      if (connection.identity.sessionId !== sessionId) continue;
      this.#end(connection, 'you signed out');
    }
  }

  /**
   * Incidents changed who may watch what: the connections of `userIds` (everyone when absent) re-check
   * the cameras they watch (only `cameras`, when given) and stop what is no longer allowed, with `reason`
   * (the policy's own when absent); the records of views now allowed through another incident follow.
   */
  accessChanged(change: { userIds?: readonly string[]; cameras?: readonly string[]; reason?: string }): void {
    for (const connection of this.#connections) {
      if (change.userIds && !change.userIds.includes(connection.identity.userId)) continue;
      void connection.recheck(change.cameras, change.reason);
    }
  }

  /** An incident changed: the consoles of those who run it (operators of its municipality, admins) refresh their incidents panel. */
  incidentChanged(event: { incidentId: string; change: string }, municipality: string): void {
    for (const connection of this.#connections) {
      const viewer = this.#viewerOf(connection);
      if (viewer && VisibilityPolicy.runsIncident(viewer, { municipality })) connection.socket.emit('incidentsChanged', event);
    }
  }

  /**
   * The catalog changed: every console lists its cameras again (an approved camera appears, a
   * revoked one goes). The first change is told at once; further ones within CATALOG_COALESCE_MS
   * make one more event at its end (an import changes thousands).
   */
  catalogChanged(): void {
    if (this.#catalogTimer) {
      this.#catalogPending = true;
      return;
    }
    for (const connection of this.#connections) connection.socket.emit('camerasChanged');
    this.#catalogTimer = setTimeout(() => {
      this.#catalogTimer = undefined;
      if (!this.#catalogPending) return;
      this.#catalogPending = false;
      this.catalogChanged();
    }, CATALOG_COALESCE_MS);
  }

  /** A grant changed: its investigator's consoles refresh their grants and camera list. */
  grantChanged(investigatorId: string, event: { grantId: string; incidentId: string; change: string }): void {
    for (const connection of this.#connections) {
      if (connection.identity.userId === investigatorId) connection.socket.emit('grantsChanged', event);
    }
  }

  /** Rings the consoles an alarm is announced to (new, pressed again, re-announced); returns how many. */
  alarmRaised(alarm: AlarmView): number {
    let reached = 0;
    for (const connection of this.#connections) {
      const viewer = this.#viewerOf(connection);
      if (viewer && VisibilityPolicy.announcedTo(viewer, alarm)) {
        connection.socket.emit('alarmRaised', alarm);
        reached++;
      }
    }
    return reached;
  }

  /** An alarm was acknowledged or closed: the consoles it was announced to update its banner. */
  alarmChanged(alarm: AlarmView): void {
    for (const connection of this.#connections) {
      const viewer = this.#viewerOf(connection);
      if (viewer && VisibilityPolicy.announcedTo(viewer, alarm)) connection.socket.emit('alarmChanged', alarm);
    }
  }

  /** A supervised device went offline or came back: the operators covering its place, and admins. */
  alarmDeviceStatus(event: AlarmDeviceStatusEvent & { area: AlarmView['area'] }): void {
    const { area, ...payload } = event;
    for (const connection of this.#connections) {
      const viewer = this.#viewerOf(connection);
      if (viewer && (viewer.role === 'admin' || VisibilityPolicy.announcedTo(viewer, { area, municipality: event.municipality, announceLevel: 0 }))) {
        connection.socket.emit('alarmDeviceStatus', payload);
      }
    }
  }

  /** A camera's record changed: its viewers who may no longer see it lose it now. */
  cameraChanged(cameraId: string): void {
    for (const connection of this.#connections) void connection.recheck(cameraId);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Sessions kept without a socket now (waiting to be resumed). */
  get detachedCount(): number {
    return this.#graceTimers.size;
  }

  /** The session ends for good (signed out, account disabled), with or without a socket now. */
  #end(connection: ViewerConnection, reason: string): void {
    if (connection.detachedAt !== undefined) {
      connection.close();
      return;
    }
    connection.socket.emit('sessionEnded', { reason });
    connection.socket.disconnect(true);
  }

  /** A new resume token for the session (the previous one stops working); only its hash is kept. */
  #issueResumeToken(connection: ViewerConnection): string {
    const old = this.#tokenOf.get(connection);
    if (old !== undefined) this.#resumeTokens.delete(old);
    const token = randomBytes(32).toString('base64url');
    const hash = hashToken(token);
    this.#resumeTokens.set(hash, connection);
    this.#tokenOf.set(connection, hash);
    return token;
  }

  #clearGrace(connection: ViewerConnection): void {
    const timer = this.#graceTimers.get(connection);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#graceTimers.delete(connection);
  }

  /** A session closed: its resume token, grace timer and place in the counts go. */
  #forget(connection: ViewerConnection): void {
    this.#clearGrace(connection);
    const hash = this.#tokenOf.get(connection);
    if (hash !== undefined) this.#resumeTokens.delete(hash);
    this.#tokenOf.delete(connection);
    if (!this.#connections.delete(connection)) return;
    this.observer.notify('connections', this.#connections.size);
    this.observer.notify('detached', this.#graceTimers.size);
  }

  /** Operators and admins get the alarms still open, and offline devices, at every (re)connection. */
  #sendActiveAlarms(connection: ViewerConnection): void {
    const viewer = this.#viewerOf(connection);
    if (!this.options.alarms || !viewer || (viewer.role !== 'operator' && viewer.role !== 'admin')) return;
    connection.socket.emit('alarmsOpen', { alarms: this.options.alarms.activeFor(viewer), offlineDevices: this.options.alarms.offlineFor(viewer) });
  }

  #viewerOf(connection: ViewerConnection): Viewer | undefined {
    try {
      return this.options.access.currentViewer(connection.identity.userId);
    } catch {
      return undefined;
    }
  }

  async #dispatch(connection: ViewerConnection, name: RequestName, payload: unknown, ack: unknown): Promise<void> {
    if (typeof ack !== 'function') {
      // A request without an acknowledgement cannot be answered: refuse it loudly in the log only.
      this.options.logger.debug({ event: name }, 'signalling request without acknowledgement ignored');
      return;
    }
    const reply = ack as (answer: unknown) => void;
    try {
      const parsed = schemas[name].safeParse(payload ?? undefined);
      if (!parsed.success) {
        throw new AppError('invalid_request', describe(parsed.error));
      }
      reply(await connection.handle(name, parsed.data as never));
      this.observer.notify('request', { name });
    } catch (error) {
      const body = toErrorBody(error, this.options.logger, name);
      this.observer.notify('request', { name, errorCode: body.code });
      reply({ error: body });
    }
  }

  async close(): Promise<void> {
    if (this.#catalogTimer) clearTimeout(this.#catalogTimer);
    this.#catalogTimer = undefined;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const connection of [...this.#connections]) connection.close();
    this.#connections.clear();
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => {
      // Closes the engine; the HTTP server is closed by its owner.
      this.io.close(() => resolve());
    });
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || 'payload'}: ${issue.message}`)
    .join('; ');
}

export function toErrorBody(error: unknown, logger: Logger, context: string): ApiErrorBody {
  if (error instanceof AppError) return error.toJSON();
  // mediasoup's own validation errors (bad DTLS or RTP parameters) are the client's fault.
  const name = (error as Error | undefined)?.name;
  if (name === 'TypeError' || name === 'UnsupportedError') {
    return { code: 'invalid_request', message: (error as Error).message };
  }
  logger.error({ err: error, context }, 'unexpected error');
  return { code: 'internal', message: 'internal error' };
}
