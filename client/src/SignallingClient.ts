/**
 * The Socket.IO connection to the server: typed requests with acknowledgements, server events,
 * and the connection's life (connect, lost, refused because of the token).
 *
 * The token travels in the handshake `auth`, read through a function at every (re)connection so
 * a refreshed token is used; never in a URL.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  AlarmDeviceStatusEvent,
  AlarmView,
  ApiErrorBody,
  CameraHealth,
  CameraStatusMessage,
  ClientToServerEvents,
  HandshakeAuth,
  RequestName,
  RequestPayload,
  ResponseMap,
  ServerToClientEvents,
  SessionBandwidth,
  SessionInfo,
  StreamChoice,
} from '../../server/signalling/protocol.ts';
import { Emitter } from './Emitter.ts';

/** Same value as protocol.ts SOCKET_PATH (imported as a type only so the bundle has no zod). */
const SOCKET_PATH = '/socket.io';
export const REQUEST_TIMEOUT_MS = 10000;
/** After the server refused or dropped us for a reason that is not the token, try again after this long. */
const RECONNECT_DELAY_MS = 2000;

/** A request that failed: the server's error, or a local one ('timeout', 'disconnected'). */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RequestError';
  }

  static from(body: ApiErrorBody): RequestError {
    return new RequestError(body.code, body.message, body.details);
  }
}

export interface SignallingEvents {
  /** Connected, and the server's session event arrived: `session.resumed` when the last session was taken back. */
  connected: [session: SessionInfo];
  /**
   * The connection went away; Socket.IO reconnects by itself unless `authFailed` follows.
   * `resumable`: the network dropped it (not the server or this client), and the server keeps the
   * session's media for `graceMs` for the next connection to take back.
   */
  disconnected: [reason: string, resume: { resumable: boolean; graceMs: number }];
  /** The server refused the token (handshake) or ended the session. */
  authFailed: [message: string];
  cameraState: [status: CameraStatusMessage];
  cameraHealth: [event: { cameraId: string; health: CameraHealth }];
  consumerClosed: [event: { consumerId: string; cameraId: string; reason: string; message?: string }];
  transportClosed: [event: { transportId: string; reason: string }];
  /** The user's role or assignments changed: the cameras they may see may have changed. */
  rightsChanged: [event: { role: string; areas: string[]; municipalities: string[] }];
  /** The server ended the session (account disabled, token expired); the connection is closed and not retried. */
  sessionEnded: [reason: string];
  /** Operators, admins: an incident in their scope changed (opened, cameras, grants, closed). */
  incidentsChanged: [event: IncidentsChangedEvent];
  /** Investigators: one of their grants changed (new, extended, revoked, ended). */
  grantsChanged: [event: GrantsChangedEvent];
  /** The catalog changed (approvals, status, sharing, places): the camera list may have changed. */
  camerasChanged: [];
  /** Operators, admins: an alarm to ring for (new, pressed again, re-announced). */
  alarmRaised: [alarm: AlarmView];
  /** An alarm shown was acknowledged or closed. */
  alarmChanged: [alarm: AlarmView];
  /** On every connection: the alarms not closed shown to this user, and the devices offline. */
  alarmsOpen: [event: AlarmsOpenEvent];
  /** A supervised alarm device went offline or came back. */
  alarmDeviceStatus: [event: AlarmDeviceStatusEvent];
  /** Every sampling period while the session has consumers: measured bit rates and the role's cap. */
  bandwidth: [event: SessionBandwidth];
  /** The session is over its cap: switch this consumer's tile to a lighter stream (or it is closed). */
  streamAdvice: [event: StreamAdvice];
}

export interface StreamAdvice {
  consumerId: string;
  cameraId: string;
  stream: StreamChoice;
}

export type IncidentsChangedEvent = Parameters<ServerToClientEvents['incidentsChanged']>[0];
export type GrantsChangedEvent = Parameters<ServerToClientEvents['grantsChanged']>[0];
export type AlarmsOpenEvent = Parameters<ServerToClientEvents['alarmsOpen']>[0];

type ConsoleSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const AUTH_CODES = new Set(['unauthenticated', 'unauthorized', 'token_expired', 'invalid_token', 'forbidden']);
const AUTH_MESSAGE = /\b(token|unauthori[sz]ed|unauthenticated|authenticat\w*|expired|jwt|sign(ed)? ?in)\b/i;

/** Socket.IO client disconnect reasons that mean the network went away (the server keeps the session for a while). */
const NETWORK_LOST = new Set(['transport close', 'transport error', 'ping timeout', 'parse error']);

/** Whether a connect_error means "your token is no good" rather than "the network is down". */
export function isAuthError(error: Error & { data?: unknown }): boolean {
  const data = error.data as { code?: unknown; error?: { code?: unknown } } | undefined;
  const code = data?.code ?? data?.error?.code;
  if (typeof code === 'string') return AUTH_CODES.has(code);
  return AUTH_MESSAGE.test(error.message);
}

export class SignallingClient extends Emitter<SignallingEvents> {
  #socket: ConsoleSocket | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #sessionEnded = false;
  /** The last session event's resume token and grace: presented at the next handshake. */
  #resumeToken: string | undefined;
  #resumeGraceMs = 0;
  /** dropTransport() closed the socket because its network is gone: the disconnect counts as a lost network. */
  #networkLost = false;

  /** `getToken` is read at every handshake; undefined means signed out (no connection is tried). */
  constructor(private readonly getToken: () => string | undefined) {
    super();
  }

  get connected(): boolean {
    return this.#socket?.connected ?? false;
  }

  /** Opens the connection (once); Socket.IO keeps reconnecting with its own backoff. */
  open(): void {
    if (this.#socket || this.#closed) return;
    const socket: ConsoleSocket = io({
      path: SOCKET_PATH,
      transports: ['websocket'],
      auth: (cb: (auth: HandshakeAuth) => void) => cb({ token: this.getToken() ?? '', ...(this.#resumeToken !== undefined && { resume: this.#resumeToken }) }),
      // A dropped network is retried at once (a resumed session is waiting), then backs off to 10 s.
      reconnectionDelay: 250,
      reconnectionDelayMax: 10000,
    });
    this.#socket = socket;
    // A closed or left page ends its session at once (the server keeps a session only when the network drops).
    window.addEventListener('pagehide', this.#onPageHide);

    // The server's session event follows its connect at once: the console starts from it.
    socket.on('session', (session) => {
      this.#resumeToken = typeof session?.resumeToken === 'string' ? session.resumeToken : undefined;
      this.#resumeGraceMs = typeof session?.resumeGraceMs === 'number' ? session.resumeGraceMs : 0;
      this.emit('connected', session);
    });
    socket.on('disconnect', (reason) => {
      const lost = NETWORK_LOST.has(reason) || (this.#networkLost && (reason as string) === 'forced close');
      this.#networkLost = false;
      const resumable = lost && this.#resumeToken !== undefined && this.#resumeGraceMs > 0;
      if (!resumable) this.#resumeToken = undefined;
      this.emit('disconnected', reason, { resumable, graceMs: resumable ? this.#resumeGraceMs : 0 });
      // 'io server disconnect': the server closed us; Socket.IO will not come back by itself.
      if (reason === 'io server disconnect' && !this.#sessionEnded) this.#reconnectLater();
    });
    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      // Our resume token was not ours to present (never expected): start a new session instead.
      if ((error.data as { code?: unknown } | undefined)?.code === 'resume_refused') this.#resumeToken = undefined;
      if (isAuthError(error)) {
        this.emit('authFailed', error.message || 'the server refused the session');
        return;
      }
      // A refusal by a server middleware (socket.active false) is not retried by Socket.IO itself.
      if (!socket.active) this.#reconnectLater();
    });
    socket.on('cameraState', (status) => this.emit('cameraState', status));
    socket.on('cameraHealth', (event) => this.emit('cameraHealth', event));
    socket.on('consumerClosed', (event) => this.emit('consumerClosed', event));
    socket.on('transportClosed', (event) => this.emit('transportClosed', event));
    socket.on('rightsChanged', (event) => this.emit('rightsChanged', event));
    socket.on('incidentsChanged', (event) => this.emit('incidentsChanged', event));
    socket.on('camerasChanged', () => this.emit('camerasChanged'));
    socket.on('grantsChanged', (event) => this.emit('grantsChanged', event));
    socket.on('alarmRaised', (alarm) => this.emit('alarmRaised', alarm));
    socket.on('alarmChanged', (alarm) => this.emit('alarmChanged', alarm));
    socket.on('alarmsOpen', (event) => this.emit('alarmsOpen', event));
    socket.on('alarmDeviceStatus', (event) => this.emit('alarmDeviceStatus', event));
    socket.on('bandwidth', (event) => this.emit('bandwidth', event));
    socket.on('streamAdvice', (event) => this.emit('streamAdvice', event));
    socket.on('sessionEnded', (event) => {
      // The server disconnects right after: do not come back with a token it has just refused.
      const reason = typeof event?.reason === 'string' && event.reason.length > 0 ? event.reason : 'the session has ended';
      this.#sessionEnded = true;
      this.emit('sessionEnded', reason);
    });
  }

  /** Drops the connection and opens it again (the server then closes all our media: no resume). */
  reconnect(): void {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    this.#resumeToken = undefined;
    socket.disconnect();
    this.#reconnectLater(0);
  }

  /**
   * The socket looks connected but the network under it is gone (a request went unanswered after
   * the media path broke): drop it without a goodbye, as a lost network would, so Socket.IO
   * reconnects at once and the server's kept session is taken back.
   */
  dropTransport(): void {
    const socket = this.#socket;
    if (!socket?.connected || this.#closed) return;
    this.#networkLost = true;
    (socket.io.engine as unknown as { close(): void }).close();
  }

  /** One request; resolves with the answer's fields or rejects with a RequestError. */
  request<K extends RequestName>(name: K, payload: RequestPayload<K>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ResponseMap[K]> {
    const socket = this.#socket;
    if (!socket?.connected) return Promise.reject(new RequestError('disconnected', 'not connected to the server'));
    return new Promise((resolve, reject) => {
      // The generic event map cannot be narrowed per K here; the protocol types are checked at the call sites.
      const untyped = socket as unknown as Socket;
      untyped.timeout(timeoutMs).emit(name, payload, (err: Error | null, answer: Ack<ResponseMap[K]>) => {
        if (err) {
          reject(new RequestError(socket.connected ? 'timeout' : 'disconnected', `${name}: the server did not answer in time`));
          return;
        }
        if (!answer || typeof answer !== 'object') {
          reject(new RequestError('invalid_response', `${name}: unexpected answer`));
          return;
        }
        if (answer.error) reject(RequestError.from(answer.error));
        else resolve(answer as ResponseMap[K]);
      });
    });
  }

  readonly #onPageHide = (): void => {
    this.#resumeToken = undefined;
    this.#socket?.disconnect();
  };

  /** Closes the connection for good (sign-out, page leaving). */
  close(): void {
    window.removeEventListener('pagehide', this.#onPageHide);
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#socket?.removeAllListeners();
    this.#socket?.disconnect();
    this.#socket = undefined;
    this.removeAllListeners();
  }

  #reconnectLater(delayMs = RECONNECT_DELAY_MS): void {
    if (this.#retryTimer !== undefined || this.#closed || this.#sessionEnded) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const socket = this.#socket;
      if (!socket || this.#closed || socket.connected || socket.active) return;
      if (this.getToken() === undefined) {
        this.emit('authFailed', 'the session has expired');
        return;
      }
      socket.connect();
    }, delayMs);
  }
}
