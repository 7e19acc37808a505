// A scriptable RTSP 1.0 server (RFC 2326) for testing RTSP clients against real-camera quirks.
// It serves real H.264 (generated once per video option set by ffmpeg/libx264, cached in a temp file),
// packetized here per RFC 6184, over interleaved TCP or UDP, with Basic and Digest (MD5, MD5-sess,
// SHA-256; with or without qop) authentication, redirects, session limits, keepalive enforcement,
// slow/trickled answers, rtsps and a raw hook for hostile answers. It counts everything it receives.
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { bindLoopback } from '../../workers/freeLoopbackPortPair.ts';

export type DigestVariant = 'md5' | 'md5-sess' | 'sha256';
export type AuthScheme = 'basic' | `digest-${DigestVariant}`;
export type ControlStyle = 'absolute' | 'relative' | 'star' | 'content-base' | 'content-location';

export interface ScriptedCameraVideo {
  width: number;
  height: number;
  fps: number;
  gop: number;
  slices: number;
  /** Constant bit rate (kbit/s, x264 CBR with filler); default: x264's own rate control. */
  kbps?: number;
}

export interface ScriptedCameraOptions {
  /** Default '/stream'. Requests to other paths: 404, unless listed in `redirects`. */
  path?: string;
  auth?: {
    username: string;
    password: string;
    /** Challenges are sent in this order, each as its own WWW-Authenticate header. */
    schemes: AuthScheme[];
    /** Digest with qop="auth" (else RFC 2069 style, without qop). */
    qop?: boolean;
    /** First method that requires auth (later ones too: SETUP, PLAY, GET_PARAMETER, TEARDOWN). Default DESCRIBE. OPTIONS never does. */
    demandAt?: 'DESCRIBE' | 'SETUP' | 'PLAY';
    /** After N requests with the same nonce answer 401 with stale=true and a fresh nonce. */
    nonceUses?: number;
    /** Once N logins failed (each answered 401) answer 403 to every later request (each counted in stats.lockedOut). */
    lockoutAfter?: number;
  };
  /** Request path -> Location (answered 302, or `redirectStatus`). A Location starting with '/' means this camera at that path. */
  redirects?: Record<string, string>;
  redirectStatus?: 301 | 302;
  /** More concurrent sessions -> `busyStatus`. */
  maxSessions?: number;
  /** Default 453 Not Enough Bandwidth. */
  busyStatus?: 453 | 403;
  /** Sent as Session: <id>;timeout=N (no ;timeout when undefined). */
  sessionTimeoutSec?: number;
  /** Drop a session (and close its TCP connection) when no request carrying its Session header came for sessionTimeoutSec (default 60).
   *  Any method counts (OPTIONS too), except GET_PARAMETER when `getParameter` is 454 or 501. */
  enforceKeepalive?: boolean;
  /** How GET_PARAMETER is answered (default 'ok'). With 454/501 it does not keep the session alive. */
  getParameter?: 'ok' | 454 | 501;
  /** How a=control is written (default 'content-base'). */
  controlStyle?: ControlStyle;
  /** Answer to SETUP with RTP/AVP;unicast;client_port=...: serve over UDP (default), or 461 Unsupported Transport. */
  udp?: 'ok' | 461;
  /** sdp-only: SPS/PPS are in sprop-parameter-sets but never sent in the RTP stream. Default sdp-and-inband. */
  sprop?: 'sdp-and-inband' | 'sdp-only';
  /** Default 320x180, 25 fps, gop 25, 2 slices per frame. */
  video?: ScriptedCameraVideo;
  /** Wait before every response. */
  delayMs?: number;
  /** Send responses a few bytes at a time. */
  trickle?: { chunkBytes: number; intervalMs: number };
  /**
   * Everything written on an RTSP connection (interleaved RTP/RTCP and answers) goes out `chunkBytes`
   * every `intervalMs`, so the client is nearly always in the middle of an interleaved packet. A
   * frame arriving while more than `queueBytes` (default 16 KiB) wait is dropped whole; an answer
   * goes out after the item being written, never inside it.
   */
  mediaTrickle?: { chunkBytes: number; intervalMs: number; queueBytes?: number };
  /** Called once a video frame's RTP packets were sent, with the frame's RTP timestamp (for latency measurements). */
  onFrameSent?: (rtpTimestamp: number) => void;
  /** Serve rtsps (PEM strings). */
  tls?: { key: string; cert: string };
  /** On an RTCP PLI, the next frame sent is a keyframe (what most cameras do); default false (counted only). */
  honourPli?: boolean;
  /**
   * RTP over UDP only (a network that reorders): every `every`-th RTP packet of a session is held back
   * and sent after the next `distance` packets (so it arrives `distance` places late; a packet held at
   * the end of a frame waits for the next frame's packets). Counted in stats.rtpPacketsReordered.
   */
  udpReorder?: { every: number; distance: number };
  /** Raw hook, called for every request before anything else: return true if it wrote its own (possibly hostile) bytes. */
  respond?: (request: ReceivedRequest, socket: Socket) => boolean;
}

export interface ReceivedRequest {
  method: string;
  uri: string;
  cseq?: string;
  headers: Array<[string, string]>;
  body: string;
  /** Date.now() when it was parsed. */
  at: number;
  /** 1-based number of the TCP connection it came on. */
  connection: number;
}

export interface ScriptedCameraStats {
  connections: number;
  describes: number;
  setups: number;
  plays: number;
  teardowns: number;
  getParameters: number;
  options: number;
  sessionsStarted: number;
  activeSessions: number;
  sessionsExpired: number;
  authFailures: number;
  lockedOut: number;
  rtpPacketsSent: number;
  /** RTP packets sent out of order (udpReorder). */
  rtpPacketsReordered: number;
  /** Sessions that switched to the video given to switchVideo() (at a keyframe). */
  videoSwitches: number;
  /** mediaTrickle: bytes written, chunks written, and chunks that ended inside an interleaved packet. */
  trickledBytes: number;
  trickledChunks: number;
  trickledChunksMidPacket: number;
  rtcpReceived: number;
  rtcpPli: number;
  rtcpReceiverReports: number;
}

/** One H.264 access unit: its VCL NAL units (no start codes) and whether it is an IDR picture. */
export interface AccessUnit {
  nals: Buffer[];
  keyframe: boolean;
}

interface Clip {
  sps: Buffer;
  pps: Buffer;
  units: AccessUnit[];
}

interface Connection {
  id: number;
  socket: Socket;
  buffer: Buffer;
  queue: Promise<void>;
  /** While > 0 an answer is being written: interleaved RTP waits in `held`. */
  answering: number;
  held: Buffer[];
  closed: boolean;
  /** mediaTrickle: what waits to be written (the head partly written up to `offset`). */
  trickle?: { queue: Array<{ bytes: Buffer; answer: boolean }>; offset: number; queued: number; dropping?: boolean; timer?: NodeJS.Timeout };
}

interface Session {
  id: string;
  connection: Connection;
  transport: { kind: 'tcp'; rtpChannel: number; rtcpChannel: number } | { kind: 'udp'; clientHost: string; clientRtp: number; clientRtcp: number; rtp: UdpSocket; rtcp: UdpSocket; serverRtp: number };
  ssrc: number;
  sequence: number;
  timestamp: number;
  frame: number;
  packets: number;
  octets: number;
  /** The clip this session streams (switchVideo() moves it to the new one at its next keyframe). */
  clip: Clip;
  /** UDP RTP packets sent so far, and those held back by udpReorder with how many packets they still wait for. */
  udpSent: number;
  held: Array<{ packet: Buffer; wait: number }>;
  playing: boolean;
  frameTimer?: NodeJS.Timeout;
  reportTimer?: NodeJS.Timeout;
  keepaliveTimer?: NodeJS.Timeout;
}

interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body?: string;
  /** Work (binding UDP ports) to finish before the answer is written. */
  wait?: Promise<void>;
  after?: () => void;
}

const reasons: Record<number, string> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  501: 'Not Implemented',
};

const defaultVideo: ScriptedCameraVideo = { width: 320, height: 180, fps: 25, gop: 25, slices: 2 };
const maxPayload = 1200;
const realm = 'ScriptedCamera';
const authRank: Record<string, number> = { DESCRIBE: 1, SETUP: 2, PLAY: 3, GET_PARAMETER: 4, TEARDOWN: 4 };
const knownButRefused = new Set(['ANNOUNCE', 'RECORD', 'PAUSE', 'SET_PARAMETER', 'REDIRECT']);
const clips = new Map<string, Promise<Clip>>();

export class ScriptedCamera {
  readonly stats: ScriptedCameraStats = {
    connections: 0,
    describes: 0,
    setups: 0,
    plays: 0,
    teardowns: 0,
    getParameters: 0,
    options: 0,
    sessionsStarted: 0,
    activeSessions: 0,
    sessionsExpired: 0,
    authFailures: 0,
    lockedOut: 0,
    rtpPacketsSent: 0,
    rtpPacketsReordered: 0,
    videoSwitches: 0,
    trickledBytes: 0,
    trickledChunks: 0,
    trickledChunksMidPacket: 0,
    rtcpReceived: 0,
    rtcpPli: 0,
    rtcpReceiverReports: 0,
  };
  readonly requests: ReceivedRequest[] = [];
  private videoPaused = false;
  private keyframeRequested = false;
  readonly options: Readonly<ScriptedCameraOptions>;
  readonly path: string;
  private portNumber = 0;
  private readonly server: NetServer | TlsServer;
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  /** Issued digest nonces -> requests that used them, and the (cnonce, nc) pairs seen. */
  private readonly nonces = new Map<string, { uses: number; seen: Set<string> }>();
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private connectionCount = 0;
  private stopped = false;

  private constructor(options: ScriptedCameraOptions, private clip: Clip) {
    this.options = options;
    this.path = options.path ?? '/stream';
    const onSocket = (socket: Socket): void => this.accept(socket);
    if (options.tls) {
      const server = createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onSocket);
      server.on('tlsClientError', () => undefined);
      this.server = server;
    } else {
      this.server = createNetServer(onSocket);
    }
  }

  /** Generates (or reuses) the video, then listens on 127.0.0.1 at a free port. */
  static async start(options: ScriptedCameraOptions = {}): Promise<ScriptedCamera> {
    const clip = await ScriptedCamera.clipFor(options.video ?? defaultVideo);
    const camera = new ScriptedCamera(options, clip);
    await new Promise<void>((resolve, reject) => {
      camera.server.once('error', reject);
      camera.server.listen(0, '127.0.0.1', () => {
        camera.server.off('error', reject);
        resolve();
      });
    });
    camera.portNumber = (camera.server.address() as AddressInfo).port;
    return camera;
  }

  /** The access units the camera streams for these video options (parsed from the cached Annex-B file). */
  static async accessUnits(video: ScriptedCameraVideo = defaultVideo): Promise<AccessUnit[]> {
    return (await ScriptedCamera.clipFor(video)).units;
  }

  get port(): number {
    return this.portNumber;
  }

  /** rtsp://127.0.0.1:<port><path> (rtsps:// with tls); never contains credentials. */
  url(path: string = this.path): string {
    return `${this.options.tls ? 'rtsps' : 'rtsp'}://127.0.0.1:${this.portNumber}${path}`;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const session of [...this.sessions.values()]) this.endSession(session);
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) {
      connection.closed = true;
      clearInterval(connection.trickle?.timer);
      connection.socket.destroy();
    }
    this.connections.clear();
    await closed;
  }

  // ---- connections and framing ----

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.stats.connections += 1;
    const connection: Connection = { id: ++this.connectionCount, socket, buffer: Buffer.alloc(0), queue: Promise.resolve(), answering: 0, held: [], closed: false };
    this.connections.add(connection);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      connection.buffer = connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
      this.drain(connection);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      connection.closed = true;
      clearInterval(connection.trickle?.timer);
      this.connections.delete(connection);
      for (const session of [...this.sessions.values()]) if (session.connection === connection) this.endSession(session);
    });
  }

  private drain(connection: Connection): void {
    for (;;) {
      const buffer = connection.buffer;
      if (buffer.length === 0 || connection.closed) return;
      if (buffer[0] === 0x24) {
        if (buffer.length < 4) return;
        const length = buffer.readUInt16BE(2);
        if (buffer.length < 4 + length) return;
        this.interleaved(connection, buffer[1] ?? 0, buffer.subarray(4, 4 + length));
        connection.buffer = buffer.subarray(4 + length);
        continue;
      }
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffer.length > 65536) connection.socket.destroy();
        return;
      }
      const head = buffer.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const [method = '', uri = ''] = (lines[0] ?? '').split(' ');
      const headers: Array<[string, string]> = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
      }
      const contentLength = Number(headerOf(headers, 'content-length') ?? 0) || 0;
      if (buffer.length < end + 4 + contentLength) return;
      const body = buffer.subarray(end + 4, end + 4 + contentLength).toString('utf8');
      connection.buffer = buffer.subarray(end + 4 + contentLength);
      const request: ReceivedRequest = { method, uri, cseq: headerOf(headers, 'cseq'), headers, body, at: Date.now(), connection: connection.id };
      this.requests.push(request);
      connection.queue = connection.queue.then(() => this.handle(connection, request)).catch(() => {
        connection.socket.destroy();
      });
    }
  }

  private interleaved(connection: Connection, channel: number, payload: Buffer): void {
    for (const session of this.sessions.values()) {
      if (session.connection === connection && session.transport.kind === 'tcp' && session.transport.rtcpChannel === channel) {
        this.rtcp(payload);
        return;
      }
    }
  }

  private rtcp(packet: Buffer): void {
    this.stats.rtcpReceived += 1;
    let offset = 0;
    while (offset + 4 <= packet.length) {
      const first = packet[offset] ?? 0;
      const type = packet[offset + 1] ?? 0;
      if (first >> 6 !== 2) return;
      if (type === 201) this.stats.rtcpReceiverReports += 1;
      if (type === 206 && (first & 0x1f) === 1) {
        this.stats.rtcpPli += 1;
        if (this.options.honourPli) this.keyframeRequested = true;
      }
      offset += (packet.readUInt16BE(offset + 2) + 1) * 4;
    }
  }

  // ---- requests ----

  private async handle(connection: Connection, request: ReceivedRequest): Promise<void> {
    if (connection.closed || this.stopped) return;
    const counters: Record<string, keyof ScriptedCameraStats> = { OPTIONS: 'options', DESCRIBE: 'describes', SETUP: 'setups', PLAY: 'plays', TEARDOWN: 'teardowns', GET_PARAMETER: 'getParameters' };
    const counter = counters[request.method];
    if (counter) this.stats[counter] += 1;
    if (this.options.respond?.(request, connection.socket)) return;
    const answer = this.answer(connection, request);
    if (this.options.delayMs) await this.sleep(this.options.delayMs);
    if (connection.closed || this.stopped) return;
    await this.write(connection, request, answer);
    answer.after?.();
  }

  private answer(connection: Connection, request: ReceivedRequest): Answer {
    const auth = this.options.auth;
    if (auth?.lockoutAfter !== undefined && this.stats.authFailures >= auth.lockoutAfter) {
      this.stats.lockedOut += 1;
      return { status: 403, headers: [] };
    }
    const { method } = request;
    if (!(method in authRank) && method !== 'OPTIONS') {
      if (knownButRefused.has(method)) return { status: 405, headers: [['Allow', this.publicMethods()]] };
      return { status: 501, headers: [] };
    }
    const path = request.uri === '*' ? '*' : pathOf(request.uri);
    if (path === undefined) return { status: 400, headers: [] };
    const redirect = this.options.redirects?.[path];
    if (redirect !== undefined) {
      return { status: this.options.redirectStatus ?? 302, headers: [['Location', redirect.startsWith('/') ? this.url(redirect) : redirect]] };
    }
    const target = this.target(path);
    if (target === undefined) return { status: 404, headers: [] };
    if (auth && (authRank[method] ?? 0) >= (authRank[auth.demandAt ?? 'DESCRIBE'] ?? 1)) {
      const refusal = this.authenticate(request);
      if (refusal) return refusal;
    }
    // Any request naming a live session keeps it alive, except a GET_PARAMETER the camera refuses.
    const named = this.sessionOf(request);
    if (named && !(method === 'GET_PARAMETER' && (this.options.getParameter ?? 'ok') !== 'ok')) this.touch(named);
    switch (method) {
      case 'OPTIONS':
        return { status: 200, headers: [['Public', this.publicMethods()]] };
      case 'DESCRIBE':
        return this.describe(target);
      case 'SETUP':
        return this.setup(connection, request, target);
      case 'PLAY':
        return this.play(request, target);
      case 'GET_PARAMETER':
        return this.getParameter(request);
      default:
        return this.teardown(request);
    }
  }

  /** 'aggregate' for the stream's URL, 'track' for its track's control URL, undefined for anything else. */
  private target(path: string): 'aggregate' | 'track' | undefined {
    if (path === '*') return 'aggregate';
    const base = this.path.replace(/\/+$/, '');
    if (path === base || path === `${base}/`) return 'aggregate';
    if (path === `${base}/trackID=0` || path === `${base}//trackID=0`) return 'track';
    return undefined;
  }

  private publicMethods(): string {
    return ['OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', ...(this.options.getParameter === 501 ? [] : ['GET_PARAMETER']), 'TEARDOWN'].join(', ');
  }

  private describe(target: 'aggregate' | 'track'): Answer {
    if (target !== 'aggregate') return { status: 404, headers: [] };
    const style = this.options.controlStyle ?? 'content-base';
    const base = this.url();
    const sessionControl = style === 'absolute' ? base : style === 'relative' ? undefined : '*';
    const trackControl = style === 'absolute' ? `${base}/trackID=0` : 'trackID=0';
    const { sps, pps } = this.clip;
    const lines = [
      'v=0',
      `o=- ${Date.now()} 1 IN IP4 127.0.0.1`,
      's=ScriptedCamera',
      'c=IN IP4 0.0.0.0',
      't=0 0',
      'a=range:npt=0-',
      ...(sessionControl ? [`a=control:${sessionControl}`] : []),
      'm=video 0 RTP/AVP 96',
      'a=rtpmap:96 H264/90000',
      `a=fmtp:96 packetization-mode=1;profile-level-id=${sps.subarray(1, 4).toString('hex').toUpperCase()};sprop-parameter-sets=${sps.toString('base64')},${pps.toString('base64')}`,
      `a=control:${trackControl}`,
    ];
    const body = `${lines.join('\r\n')}\r\n`;
    const headers: Array<[string, string]> = [['Content-Type', 'application/sdp']];
    if (style === 'content-base') headers.push(['Content-Base', `${base}/`]);
    if (style === 'content-location') headers.push(['Content-Location', `${base}/`]);
    return { status: 200, headers, body };
  }

  private setup(connection: Connection, request: ReceivedRequest, target: 'aggregate' | 'track'): Answer {
    if (target !== 'track') return { status: 459, headers: [] };
    const sessionHeader = headerOf(request.headers, 'session');
    let session: Session | undefined;
    if (sessionHeader !== undefined) {
      session = this.sessions.get(sessionIdOf(sessionHeader));
      if (!session) return { status: 454, headers: [] };
    } else if (this.options.maxSessions !== undefined && this.sessions.size >= this.options.maxSessions) {
      return { status: this.options.busyStatus ?? 453, headers: [] };
    }
    const offers = (headerOf(request.headers, 'transport') ?? '').split(',').map((offer) => offer.trim().split(';').map((part) => part.trim()));
    let tcp: { rtpChannel: number; rtcpChannel: number } | undefined;
    let udp: { rtp: number; rtcp: number } | undefined;
    for (const parts of offers) {
      const profile = (parts[0] ?? '').toUpperCase();
      if (parts.some((part) => part.toLowerCase() === 'multicast')) continue;
      const param = (name: string): string | undefined => parts.find((part) => part.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1);
      if (profile === 'RTP/AVP/TCP') {
        const [a, b] = (param('interleaved') ?? '0-1').split('-').map(Number);
        const rtpChannel = Number.isInteger(a) ? (a as number) : 0;
        tcp = { rtpChannel, rtcpChannel: Number.isInteger(b) ? (b as number) : rtpChannel + 1 };
        break;
      }
      if ((profile === 'RTP/AVP' || profile === 'RTP/AVP/UDP') && this.options.udp !== 461) {
        const [a, b] = (param('client_port') ?? '').split('-').map(Number);
        if (!Number.isInteger(a) || !a) continue;
        udp = { rtp: a as number, rtcp: Number.isInteger(b) && b ? (b as number) : (a as number) + 1 };
        break;
      }
    }
    if (!tcp && !udp) return { status: 461, headers: [] };
    if (session) this.stopStreaming(session);
    const isNew = !session;
    const id = session?.id ?? randomBytes(8).toString('hex').toUpperCase();
    const ssrc = randomBytes(4).readUInt32BE(0);
    const created: Session = session ?? {
      id,
      connection,
      transport: { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 },
      ssrc,
      sequence: randomInt(0, 65536),
      timestamp: randomBytes(4).readUInt32BE(0),
      frame: 0,
      packets: 0,
      octets: 0,
      clip: this.clip,
      udpSent: 0,
      held: [],
      playing: false,
    };
    if (session?.transport.kind === 'udp') closeUdp(session.transport);
    let transportHeader: string;
    if (tcp) {
      created.transport = { kind: 'tcp', ...tcp };
      transportHeader = `RTP/AVP/TCP;unicast;interleaved=${tcp.rtpChannel}-${tcp.rtcpChannel};ssrc=${hex32(created.ssrc)};mode="PLAY"`;
      return this.setupAnswer(created, isNew, transportHeader);
    }
    const client = udp as { rtp: number; rtcp: number };
    // UDP: bind our own even/odd port pair before answering (asynchronously, so the answer waits for it).
    const answer: Answer = { status: 200, headers: [] };
    const pending = bindPortPair().then(({ rtp, rtcp, port }) => {
      if (this.stopped || connection.closed) {
        rtp.close();
        rtcp.close();
        return;
      }
      rtcp.on('message', (packet) => this.rtcp(packet));
      rtp.on('message', () => undefined);
      created.transport = { kind: 'udp', clientHost: connection.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', clientRtp: client.rtp, clientRtcp: client.rtcp, rtp, rtcp, serverRtp: port };
      const header = `RTP/AVP;unicast;client_port=${client.rtp}-${client.rtcp};server_port=${port}-${port + 1};ssrc=${hex32(created.ssrc)};mode="PLAY"`;
      Object.assign(answer, this.setupAnswer(created, isNew, header));
    });
    answer.wait = pending;
    return answer;
  }

  private setupAnswer(session: Session, isNew: boolean, transport: string): Answer {
    if (isNew) {
      this.sessions.set(session.id, session);
      this.stats.sessionsStarted += 1;
      this.stats.activeSessions = this.sessions.size;
    }
    this.touch(session);
    return { status: 200, headers: [['Transport', transport], ['Session', this.sessionHeader(session)]] };
  }

  private sessionHeader(session: Session): string {
    const timeout = this.options.sessionTimeoutSec;
    return timeout === undefined ? session.id : `${session.id};timeout=${timeout}`;
  }

  private sessionOf(request: ReceivedRequest): Session | undefined {
    const header = headerOf(request.headers, 'session');
    return header === undefined ? undefined : this.sessions.get(sessionIdOf(header));
  }

  private play(request: ReceivedRequest, target: 'aggregate' | 'track'): Answer {
    const session = this.sessionOf(request);
    if (!session) return { status: 454, headers: [] };
    this.touch(session);
    const trackUrl = this.url(`${this.path.replace(/\/+$/, '')}/trackID=0`);
    void target;
    const headers: Array<[string, string]> = [
      ['Session', this.sessionHeader(session)],
      ['Range', 'npt=0.000-'],
      ['RTP-Info', `url=${trackUrl};seq=${session.sequence};rtptime=${session.timestamp}`],
    ];
    return { status: 200, headers, after: () => this.startStreaming(session) };
  }

  private getParameter(request: ReceivedRequest): Answer {
    const mode = this.options.getParameter ?? 'ok';
    if (mode !== 'ok') return { status: mode, headers: [] };
    const header = headerOf(request.headers, 'session');
    if (header === undefined) return { status: 200, headers: [] };
    const session = this.sessions.get(sessionIdOf(header));
    if (!session) return { status: 454, headers: [] };
    this.touch(session);
    return { status: 200, headers: [['Session', this.sessionHeader(session)]] };
  }

  private teardown(request: ReceivedRequest): Answer {
    const session = this.sessionOf(request);
    if (!session) return { status: 454, headers: [] };
    this.endSession(session);
    return { status: 200, headers: [['Session', session.id]] };
  }

  // ---- authentication ----

  /** Undefined when the request is authorized, else the refusal to send. */
  private authenticate(request: ReceivedRequest): Answer | undefined {
    const auth = this.options.auth;
    if (!auth) return undefined;
    const header = headerOf(request.headers, 'authorization');
    if (header === undefined) return this.challenge(false);
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'basic' && auth.schemes.includes('basic')) {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0 && decoded.slice(0, colon) === auth.username && decoded.slice(colon + 1) === auth.password) return undefined;
      return this.fail();
    }
    if (scheme !== 'digest') return this.fail();
    const params = parseAuthParams(rest);
    const algorithm = (params.algorithm ?? 'MD5').toUpperCase();
    const variant: DigestVariant | undefined = algorithm === 'MD5' ? 'md5' : algorithm === 'MD5-SESS' ? 'md5-sess' : algorithm === 'SHA-256' ? 'sha256' : undefined;
    if (!variant || !auth.schemes.includes(`digest-${variant}`)) return this.fail();
    const { username, nonce, uri, response, cnonce, nc, qop } = params;
    if (username !== auth.username || params.realm !== realm || !nonce || !response || uri !== request.uri) return this.fail();
    const issued = this.nonces.get(nonce);
    if (!issued) return this.fail();
    if (auth.qop) {
      if (qop !== 'auth' || !cnonce || !nc || !/^[0-9a-fA-F]{8}$/.test(nc)) return this.fail();
      const key = `${cnonce}:${nc.toLowerCase()}`;
      if (issued.seen.has(key)) return this.fail();
      issued.seen.add(key);
    } else if (qop !== undefined) {
      return this.fail();
    }
    if (variant === 'md5-sess' && !cnonce) return this.fail();
    const hash = (text: string): string => createHash(variant === 'sha256' ? 'sha256' : 'md5').update(text, 'utf8').digest('hex');
    let ha1 = hash(`${auth.username}:${realm}:${auth.password}`);
    if (variant === 'md5-sess') ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
    const ha2 = hash(`${request.method}:${uri}`);
    const expected = auth.qop ? hash(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);
    if (response.toLowerCase() !== expected) return this.fail();
    issued.uses += 1;
    if (auth.nonceUses !== undefined && issued.uses > auth.nonceUses) {
      this.nonces.delete(nonce);
      return this.challenge(true);
    }
    return undefined;
  }

  private fail(): Answer {
    this.stats.authFailures += 1;
    return this.challenge(false);
  }

  private challenge(stale: boolean): Answer {
    const auth = this.options.auth;
    const headers: Array<[string, string]> = [];
    if (!auth) return { status: 401, headers };
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, { uses: 0, seen: new Set() });
    for (const scheme of auth.schemes) {
      if (scheme === 'basic') {
        headers.push(['WWW-Authenticate', `Basic realm="${realm}"`]);
        continue;
      }
      const algorithm = scheme === 'digest-md5' ? 'MD5' : scheme === 'digest-md5-sess' ? 'MD5-sess' : 'SHA-256';
      const parts = [`realm="${realm}"`, `nonce="${nonce}"`, `algorithm=${algorithm}`];
      if (auth.qop) parts.push('qop="auth"');
      if (stale) parts.push('stale=true');
      headers.push(['WWW-Authenticate', `Digest ${parts.join(', ')}`]);
    }
    return { status: 401, headers };
  }

  // ---- streaming ----

  private touch(session: Session): void {
    if (!this.options.enforceKeepalive) return;
    if (session.keepaliveTimer) {
      session.keepaliveTimer.refresh();
      return;
    }
    session.keepaliveTimer = setTimeout(() => {
      if (!this.sessions.has(session.id)) return;
      this.stats.sessionsExpired += 1;
      this.endSession(session);
      session.connection.closed = true;
      session.connection.socket.destroy();
    }, (this.options.sessionTimeoutSec ?? 60) * 1000);
  }

  private startStreaming(session: Session): void {
    if (session.playing || !this.sessions.has(session.id) || this.stopped) return;
    session.playing = true;
    session.frame = 0;
    const fps = (this.options.video ?? defaultVideo).fps;
    this.sendFrame(session);
    session.frameTimer = setInterval(() => this.sendFrame(session), 1000 / fps);
    this.sendReport(session);
    session.reportTimer = setInterval(() => this.sendReport(session), 1000);
  }

  private stopStreaming(session: Session): void {
    session.playing = false;
    session.held = [];
    clearInterval(session.frameTimer);
    clearInterval(session.reportTimer);
    session.frameTimer = undefined;
    session.reportTimer = undefined;
  }

  private endSession(session: Session): void {
    this.stopStreaming(session);
    clearTimeout(session.keepaliveTimer);
    session.keepaliveTimer = undefined;
    if (session.transport.kind === 'udp') closeUdp(session.transport);
    this.sessions.delete(session.id);
    this.stats.activeSessions = this.sessions.size;
  }

  /** Stops sending video on every session while keeping the connections and sessions open (a hung encoder). */
  pauseVideo(): void {
    this.videoPaused = true;
  }

  resumeVideo(): void {
    this.videoPaused = false;
  }

  /** Moves every session's RTP timestamps by `ms` (a camera clock step, forwards or backwards). */
  jumpTimestamps(ms: number): void {
    for (const session of this.sessions.values()) session.timestamp = (session.timestamp + Math.round(ms * 90)) >>> 0;
  }

  /**
   * A new picture size (or bit rate, GOP, slices) from the next keyframe on, as a camera whose
   * resolution is changed while streaming: a second clip is generated, and each playing session
   * switches to it where its current clip has its next IDR, sending the new SPS/PPS in-band before
   * it (unless sprop is 'sdp-only'); later DESCRIBEs carry the new sprop-parameter-sets. The frame
   * rate cannot change. Resolves once the clip is ready (switching happens within a GOP after).
   */
  async switchVideo(video: ScriptedCameraVideo): Promise<void> {
    const fps = (this.options.video ?? defaultVideo).fps;
    if (video.fps !== fps) throw new Error(`switchVideo: the frame rate cannot change (${fps} -> ${video.fps})`);
    this.clip = await ScriptedCamera.clipFor(video);
  }

  private sendFrame(session: Session): void {
    const fps = (this.options.video ?? defaultVideo).fps;
    if (this.videoPaused) {
      // The camera's clock runs on while it sends nothing.
      session.timestamp = (session.timestamp + Math.round(90000 / fps)) >>> 0;
      return;
    }
    if (this.keyframeRequested) {
      this.keyframeRequested = false;
      // The clip starts with an IDR: go to the start of its next loop.
      session.frame = Math.ceil(session.frame / session.clip.units.length) * session.clip.units.length;
    }
    if (session.clip !== this.clip && (session.frame === 0 || session.clip.units[session.frame % session.clip.units.length]?.keyframe)) {
      // switchVideo(): the new clip (starting with an IDR) takes over where the old one has a keyframe.
      session.clip = this.clip;
      session.frame = 0;
      this.stats.videoSwitches += 1;
    }
    const clip = session.clip;
    const units = clip.units;
    const unit = units[session.frame % units.length];
    session.frame += 1;
    if (!unit) return;
    const nals = unit.keyframe && this.options.sprop !== 'sdp-only' ? [clip.sps, clip.pps, ...unit.nals] : unit.nals;
    const payloads: Buffer[] = [];
    for (const nal of nals) {
      if (nal.length <= maxPayload) {
        payloads.push(nal);
        continue;
      }
      const indicator = ((nal[0] ?? 0) & 0xe0) | 28;
      const type = (nal[0] ?? 0) & 0x1f;
      for (let offset = 1; offset < nal.length; offset += maxPayload - 2) {
        const end = Math.min(nal.length, offset + maxPayload - 2);
        const header = (offset === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
        payloads.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(offset, end)]));
      }
    }
    payloads.forEach((payload, index) => {
      const packet = Buffer.alloc(12 + payload.length);
      packet[0] = 0x80;
      packet[1] = (index === payloads.length - 1 ? 0x80 : 0) | 96;
      packet.writeUInt16BE(session.sequence, 2);
      packet.writeUInt32BE(session.timestamp >>> 0, 4);
      packet.writeUInt32BE(session.ssrc, 8);
      payload.copy(packet, 12);
      session.sequence = (session.sequence + 1) & 0xffff;
      session.packets += 1;
      session.octets += payload.length;
      this.stats.rtpPacketsSent += 1;
      this.sendPacket(session, packet, false);
    });
    this.options.onFrameSent?.(session.timestamp >>> 0);
    session.timestamp = (session.timestamp + Math.round(90000 / fps)) >>> 0;
  }

  private sendReport(session: Session): void {
    const now = Date.now();
    const seconds = Math.floor(now / 1000) + 2208988800;
    const fraction = Math.floor(((now % 1000) / 1000) * 2 ** 32);
    const report = Buffer.alloc(28);
    report[0] = 0x80;
    report[1] = 200;
    report.writeUInt16BE(6, 2);
    report.writeUInt32BE(session.ssrc, 4);
    report.writeUInt32BE(seconds >>> 0, 8);
    report.writeUInt32BE(fraction >>> 0, 12);
    report.writeUInt32BE(session.timestamp >>> 0, 16);
    report.writeUInt32BE(session.packets >>> 0, 20);
    report.writeUInt32BE(session.octets >>> 0, 24);
    this.sendPacket(session, report, true);
  }

  private sendPacket(session: Session, packet: Buffer, isRtcp: boolean): void {
    const transport = session.transport;
    if (transport.kind === 'udp') {
      const socket = isRtcp ? transport.rtcp : transport.rtp;
      const send = (bytes: Buffer) => socket.send(bytes, isRtcp ? transport.clientRtcp : transport.clientRtp, transport.clientHost, () => undefined);
      const reorder = this.options.udpReorder;
      if (isRtcp || !reorder) {
        send(packet);
        return;
      }
      session.udpSent += 1;
      const hold = session.udpSent % Math.max(2, reorder.every) === 0;
      if (!hold) send(packet);
      // Packets held back go out once `distance` later packets have.
      const due: Buffer[] = [];
      session.held = session.held.filter((entry) => {
        entry.wait -= 1;
        if (entry.wait > 0) return true;
        due.push(entry.packet);
        return false;
      });
      for (const late of due) send(late);
      if (hold) {
        session.held.push({ packet, wait: Math.max(1, reorder.distance) });
        this.stats.rtpPacketsReordered += 1;
      }
      return;
    }
    const connection = session.connection;
    if (connection.closed) return;
    const frame = Buffer.alloc(4 + packet.length);
    frame[0] = 0x24;
    frame[1] = isRtcp ? transport.rtcpChannel : transport.rtpChannel;
    frame.writeUInt16BE(packet.length, 2);
    packet.copy(frame, 4);
    if (this.options.mediaTrickle) {
      this.trickleMedia(connection, frame, isRtcp, packet);
      return;
    }
    if (connection.answering > 0) {
      if (connection.held.length < 5000) connection.held.push(frame);
      return;
    }
    // A client that stopped reading: drop media rather than buffer without bound.
    if (connection.socket.writableLength > 8 * 1024 * 1024) return;
    connection.socket.write(frame);
  }

  // ---- output ----

  private async write(connection: Connection, request: ReceivedRequest, answer: Answer): Promise<void> {
    if (answer.wait) await answer.wait;
    if (connection.closed) return;
    const lines = [`RTSP/1.0 ${answer.status} ${reasons[answer.status] ?? 'Status'}`];
    if (request.cseq !== undefined) lines.push(`CSeq: ${request.cseq}`);
    lines.push(`Date: ${new Date().toUTCString()}`, 'Server: ScriptedCamera');
    for (const [name, value] of answer.headers) lines.push(`${name}: ${value}`);
    const body = Buffer.from(answer.body ?? '', 'utf8');
    if (body.length > 0 || answer.status === 200) lines.push(`Content-Length: ${body.length}`);
    const bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
    if (this.options.mediaTrickle) {
      this.trickleAnswer(connection, bytes);
      return;
    }
    const trickle = this.options.trickle;
    const chunk = Math.max(1, trickle?.chunkBytes ?? 0);
    if (!trickle) {
      connection.socket.write(bytes);
      return;
    }
    connection.answering += 1;
    try {
      for (let offset = 0; offset < bytes.length && !connection.closed; offset += chunk) {
        connection.socket.write(bytes.subarray(offset, offset + chunk));
        if (offset + chunk < bytes.length) await this.sleep(trickle.intervalMs);
      }
    } finally {
      connection.answering -= 1;
      if (connection.answering === 0 && !connection.closed) {
        for (const frame of connection.held.splice(0)) connection.socket.write(frame);
      }
    }
  }

  /** mediaTrickle: queues an interleaved frame (a whole video frame is dropped while the queue is full). */
  private trickleMedia(connection: Connection, frame: Buffer, isRtcp: boolean, packet: Buffer): void {
    const state = this.trickleState(connection);
    if (!isRtcp) {
      // The decision is taken at a frame's first packet and kept until its marker bit.
      if (state.dropping === undefined) state.dropping = state.queued > (this.options.mediaTrickle?.queueBytes ?? 16 * 1024);
      const drop = state.dropping;
      if (((packet[1] ?? 0) & 0x80) !== 0) state.dropping = undefined;
      if (drop) return;
    }
    state.queue.push({ bytes: frame, answer: false });
    state.queued += frame.length;
  }

  /** mediaTrickle: an answer goes right after the item being written (and earlier answers). */
  private trickleAnswer(connection: Connection, bytes: Buffer): void {
    const state = this.trickleState(connection);
    let index = state.queue.length === 0 ? 0 : 1;
    while (index < state.queue.length && state.queue[index]!.answer) index++;
    state.queue.splice(index, 0, { bytes, answer: true });
    state.queued += bytes.length;
  }

  private trickleState(connection: Connection): NonNullable<Connection['trickle']> {
    if (connection.trickle) return connection.trickle;
    const { chunkBytes, intervalMs } = this.options.mediaTrickle!;
    const state: NonNullable<Connection['trickle']> = { queue: [], offset: 0, queued: 0 };
    state.timer = setInterval(() => {
      if (connection.closed) return clearInterval(state.timer);
      let budget = Math.max(1, chunkBytes);
      const parts: Buffer[] = [];
      while (budget > 0 && state.queue.length > 0) {
        const head = state.queue[0]!;
        const take = Math.min(budget, head.bytes.length - state.offset);
        parts.push(head.bytes.subarray(state.offset, state.offset + take));
        state.offset += take;
        budget -= take;
        state.queued -= take;
        if (state.offset === head.bytes.length) {
          state.queue.shift();
          state.offset = 0;
        }
      }
      if (parts.length === 0) return;
      const chunk = Buffer.concat(parts);
      this.stats.trickledBytes += chunk.length;
      this.stats.trickledChunks += 1;
      if (state.offset > 0 && !state.queue[0]!.answer) this.stats.trickledChunksMidPacket += 1;
      connection.socket.write(chunk);
    }, intervalMs);
    connection.trickle = state;
    return state;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        resolve();
      }, ms);
      this.pendingTimers.add(timer);
    });
  }

  // ---- video ----

  private static clipFor(video: ScriptedCameraVideo): Promise<Clip> {
    const key = `${video.width}x${video.height}-${video.fps}fps-gop${video.gop}-slices${video.slices}${video.kbps ? `-${video.kbps}k` : ''}`;
    let clip = clips.get(key);
    if (!clip) {
      clip = generateClip(key, video);
      clips.set(key, clip);
      clip.catch(() => clips.delete(key));
    }
    return clip;
  }
}

// ---- helpers (module-private) ----

function headerOf(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

function sessionIdOf(header: string): string {
  return (header.split(';')[0] ?? '').trim();
}

function pathOf(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') return undefined;
    return decodeURIComponent(url.pathname) || '/';
  } catch {
    return undefined;
  }
}

function hex32(value: number): string {
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/** key=value and key="quoted, value" pairs of an auth header, keys lower-cased. */
function parseAuthParams(text: string): Record<string, string | undefined> {
  const params: Record<string, string | undefined> = {};
  const pattern = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const key = (match[1] ?? '').toLowerCase();
    params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
  }
  return params;
}

function closeUdp(transport: { rtp: UdpSocket; rtcp: UdpSocket }): void {
  for (const socket of [transport.rtp, transport.rtcp]) {
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}

/** Two UDP sockets on an even port and the next one (RFC 3550 §11). */
async function bindPortPair(): Promise<{ rtp: UdpSocket; rtcp: UdpSocket; port: number }> {
  for (let attempt = 0; ; attempt += 1) {
    const port = 2 * randomInt(10000, 30000);
    let rtp: UdpSocket | undefined;
    try {
      rtp = await bindLoopback(port);
      const rtcp = await bindLoopback(port + 1);
      return { rtp, rtcp, port };
    } catch (error) {
      rtp?.close();
      if (attempt > 50) throw error;
    }
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function generateClip(key: string, video: ScriptedCameraVideo): Promise<Clip> {
  const dir = join(tmpdir(), 'scripted-camera');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${key}.h264`);
  if (existsSync(file)) {
    try {
      return parseClip(readFileSync(file), video);
    } catch {
      rmSync(file, { force: true });
    }
  }
  const frames = Math.max(2 * video.gop, Math.ceil((3 * video.fps) / video.gop) * video.gop);
  const partial = join(dir, `${key}.${process.pid}.${randomBytes(4).toString('hex')}.h264`);
  await run('/usr/bin/ffmpeg', [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${video.width}x${video.height}:rate=${video.fps}`,
    '-frames:v', String(frames),
    '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-profile:v', 'baseline', '-bf', '0', '-g', String(video.gop),
    '-x264-params', `slices=${video.slices}:keyint=${video.gop}:min-keyint=${video.gop}:scenecut=0`,
    ...(video.kbps ? ['-preset', 'ultrafast', '-b:v', `${video.kbps}k`, '-minrate', `${video.kbps}k`, '-maxrate', `${video.kbps}k`, '-bufsize', `${Math.round(video.kbps / 2)}k`, '-x264-params', `slices=${video.slices}:keyint=${video.gop}:min-keyint=${video.gop}:scenecut=0:nal-hrd=cbr:force-cfr=1`] : []),
    '-f', 'h264', partial,
  ]);
  const clip = parseClip(readFileSync(partial), video);
  renameSync(partial, file);
  return clip;
}

/** Splits Annex-B into NAL units, keeps SPS/PPS aside and groups the slices into access units. */
function parseClip(data: Buffer, video: ScriptedCameraVideo): Clip {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < data.length; i += 1) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) {
        let end = i;
        while (end > start && data[end - 1] === 0) end -= 1;
        nals.push(data.subarray(start, end));
      }
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0 && start < data.length) nals.push(data.subarray(start));
  let sps: Buffer | undefined;
  let pps: Buffer | undefined;
  const units: AccessUnit[] = [];
  for (const nal of nals) {
    const type = (nal[0] ?? 0) & 0x1f;
    if (type === 7) sps ??= Buffer.from(nal);
    else if (type === 8) pps ??= Buffer.from(nal);
    else if (type === 1 || type === 5) {
      const firstSlice = ((nal[1] ?? 0) & 0x80) !== 0; // first_mb_in_slice == 0
      const last = units[units.length - 1];
      if (firstSlice || !last) units.push({ nals: [Buffer.from(nal)], keyframe: type === 5 });
      else last.nals.push(Buffer.from(nal));
    }
  }
  if (!sps || !pps) throw new Error('generated H.264 has no SPS/PPS');
  const first = units[0];
  if (!first?.keyframe) throw new Error('generated H.264 does not start with an IDR picture');
  for (const unit of units) {
    if (unit.keyframe && unit.nals.length !== video.slices) throw new Error(`IDR access unit has ${unit.nals.length} slices, expected ${video.slices}`);
  }
  return { sps, pps, units };
}
