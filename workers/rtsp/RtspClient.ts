import { isIP } from 'node:net';
import { TypedEmitter } from '../common/TypedEmitter.ts';
import type { RtspTransport } from '../common/RtspTransport.ts';
import { RtspAuthenticator, type RtspCredentials } from './RtspAuthenticator.ts';
import { RtspConnection, type RtspEndpoint, type RtspTlsPolicy } from './RtspConnection.ts';
import { RtspError } from './RtspError.ts';
import type { RtspResponse } from './RtspMessageReader.ts';
import { parseSdp, resolveControl, type SdpMedia } from './Sdp.ts';
import { UdpPortPair, type ExternalRtpPort } from './UdpPortPair.ts';

export interface RtspClientOptions {
  /** rtsp:// or rtsps:// URL. Credentials written in it are used when `credentials` is absent, and never sent in a request line. */
  url: string;
  credentials?: RtspCredentials;
  /** How RTP should travel (default tcp). A SETUP over UDP answered 461 is retried over TCP. */
  transport?: RtspTransport;
  /** Connect and per-request answer deadline (ms, default 10,000). */
  timeoutMs?: number;
  /** rtsps certificate policy (default: verify against the system's CAs). */
  tls?: RtspTlsPolicy;
  /** Redirect hops followed on DESCRIBE (default 3). */
  maxRedirects?: number;
  userAgent?: string;
  /** Earlier attempts on this camera were refused with 401: a 403 now means the camera locked us out. */
  priorUnauthorized?: boolean;
  /**
   * Where to connect (issue 26: cameras submitted by strangers), asked before the first TCP
   * connection to each endpoint (host, port, scheme): the camera's own, and each other one a
   * DESCRIBE redirect names. The connection then goes to `address`, an IP address, with no lookup
   * of the name; TLS still sends the host name as server name and checks the certificate against
   * it, and request lines keep the URL. The answer is kept for the client's life: a redirect to
   * the same endpoint, or a reconnection after a camera dropped the connection (after its 401),
   * goes to the same address without asking again. A rejection, or an answer that is not an IP
   * address, fails with RtspError `address_refused` (details.reason: the rejection's
   * `details.reason`, e.g. AddressGuard's 'address' or 'port'); no connection is attempted.
   * It is bounded by `timeoutMs` and by close(). Absent: the system resolver looks the name up.
   *
   *   resolveEndpoint: async ({ url }) => ({ address: (await guard.check(url)).address })
   */
  resolveEndpoint?: (target: RtspEndpointTarget) => Promise<{ address: string }>;
}

/** What `resolveEndpoint` is asked about: the URL about to be requested (no credentials) and its endpoint. */
export interface RtspEndpointTarget {
  url: string;
  /** Lower case, IPv6 literals without brackets. */
  host: string;
  port: number;
  secure: boolean;
}

/** One media section of the camera's SDP, with its resolved control URL. */
export interface RtspTrack {
  index: number;
  /** The SETUP URL (control attribute resolved, RFC 2326 §C.1.1). */
  url: string;
  media: SdpMedia;
  /** Lower-case encoding name from rtpmap (e.g. 'h264'), or '' when the SDP gives none. */
  codec: string;
  payloadType: number;
  /** Hz. */
  clockRate: number;
}

export interface RtspDescription {
  /** The URL that answered DESCRIBE, after redirects (no credentials). */
  url: string;
  /** Redirect hops followed. */
  redirects: number;
  sdp: string;
  tracks: RtspTrack[];
}

/** How a set-up track's packets travel, as the camera agreed. */
export type RtspTrackTransport =
  | { kind: 'tcp'; rtpChannel: number; rtcpChannel: number; ssrc?: number }
  | { kind: 'udp'; clientRtpPort: number; serverRtpPort?: number; serverRtcpPort?: number; ssrc?: number };

export type RtspClientEvents = {
  /** An RTP packet of a track. The buffer may be a view of a larger one: copy it to keep it past the call. */
  rtp: [track: RtspTrack, packet: Buffer];
  /** An RTCP packet (compound) of a track, from the camera. */
  rtcp: [track: RtspTrack, packet: Buffer];
  /** The session ended without close(): connection lost, a keepalive unanswered, a protocol error. Emitted at most once. */
  lost: [error: RtspError];
};

/** RFC 2326 §12.37: a session without a timeout parameter times out after 60 s. */
const DEFAULT_SESSION_TIMEOUT_MS = 60_000;
const MAX_AUTH_ROUNDS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 305, 307, 308]);

/**
 * An RTSP 1.0 client session with one camera (RFC 2326): DESCRIBE (following redirects), SETUP of
 * tracks over TCP interleaved channels or UDP port pairs, PLAY, keepalives at half the session
 * timeout, RTCP back to the camera, and TEARDOWN on close so the camera frees the session slot.
 * Authentication answers the strongest challenge the camera offers, at whatever request it asks.
 * Every failure is an RtspError with a stable code; no message holds credentials.
 *
 * Life cycle: `new RtspClient(options)` (no I/O) -> describe() -> setup(track)* -> play() ->
 * close(). close() is idempotent and always releases the connection, UDP ports and timers.
 */
export class RtspClient extends TypedEmitter<RtspClientEvents> {
  readonly #options: Required<Pick<RtspClientOptions, 'timeoutMs' | 'maxRedirects' | 'userAgent' | 'transport'>> & RtspClientOptions;
  readonly #credentials: RtspCredentials | undefined;
  #url: URL;
  #auth: RtspAuthenticator;
  #connection: RtspConnection | undefined;
  /** The presentation URL for session-wide requests: the SDP's session control, else Content-Base, else the request URL. */
  #aggregate: string | undefined;
  #session: { id: string; timeoutMs: number } | undefined;
  #keepaliveMethod: 'GET_PARAMETER' | 'OPTIONS' = 'GET_PARAMETER';
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #saw401 = false;
  /** The host a redirect led to, when the credentials were kept from it. */
  #withheldFrom: string | undefined;
  #lostEmitted = false;
  /** Endpoint key -> the address `resolveEndpoint` gave for it. */
  readonly #addresses = new Map<string, string>();
  readonly #origin: string;
  /** Aborts a connection attempt in progress when the client is closed. */
  readonly #abort = new AbortController();
  #playing = false;
  #closing: Promise<void> | undefined;
  readonly #tracks = new Map<number, { track: RtspTrack; transport: RtspTrackTransport; udp?: UdpPortPair }>();
  readonly #channels = new Map<number, { track: RtspTrack; rtcp: boolean }>();
  readonly stats = { requests: 0, keepalives: 0, rtpPackets: 0, rtcpPackets: 0, rtcpSent: 0 };

  constructor(options: RtspClientOptions) {
    super();
    const parsed = parseRtspUrl(options.url);
    this.#credentials = options.credentials ?? parsed.credentials;
    this.#url = parsed.url;
    this.#origin = endpointKey(endpointOf(parsed.url));
    this.#options = { timeoutMs: 10_000, maxRedirects: 3, userAgent: 'C5Live', transport: 'tcp', ...options };
    this.#auth = new RtspAuthenticator(this.#credentials);
  }

  /** The current request URL (after redirects), without credentials. */
  get url(): string {
    return this.#url.toString();
  }

  /** The session the camera granted (after the first SETUP): its id and timeout (ms). */
  get session(): { id: string; timeoutMs: number } | undefined {
    return this.#session && { ...this.#session };
  }

  /** GET_PARAMETER, or OPTIONS once the camera refused GET_PARAMETER. */
  get keepaliveMethod(): 'GET_PARAMETER' | 'OPTIONS' {
    return this.#keepaliveMethod;
  }

  /** The authentication scheme in use ('digest-sha256', 'basic', ...), if the camera asked for one. */
  get authScheme(): string | undefined {
    return this.#auth.scheme;
  }

  /** Bytes the control connection holds for an incomplete message (bounded by RTSP_LIMITS). */
  get buffered(): number {
    return this.#connection?.buffered ?? 0;
  }

  /**
   * DESCRIBE (RFC 2326 §10.2), following 301/302/303/307/308 redirects up to `maxRedirects` hops.
   * Credentials go only to the original host: a redirect elsewhere is followed without them.
   * Throws RtspError (redirect_loop, unauthorized, locked_out, busy, not_found, protocol_error, ...).
   */
  async describe(): Promise<RtspDescription> {
    const visited = new Set<string>([this.#url.toString()]);
    const original = endpointOf(this.#url);
    for (let hops = 0; ; hops++) {
      const response = await this.#request('DESCRIBE', this.#url.toString(), [['Accept', 'application/sdp']], { redirects: true });
      if (REDIRECT_STATUSES.has(response.status)) {
        const location = response.headers.get('location');
        if (!location) throw new RtspError('protocol_error', `a ${response.status} redirect without a Location`, { status: response.status });
        let next: URL;
        try {
          next = parseRtspUrl(new URL(location, this.#url).toString()).url;
        } catch {
          throw new RtspError('protocol_error', 'a redirect to something that is not an rtsp:// or rtsps:// URL', { status: response.status });
        }
        if (visited.has(next.toString())) throw new RtspError('redirect_loop', `the camera redirects in a loop (${hops + 1} hops)`, { status: response.status });
        if (hops + 1 > this.#options.maxRedirects) {
          throw new RtspError('redirect_loop', `more than ${this.#options.maxRedirects} redirects`, { status: response.status });
        }
        visited.add(next.toString());
        const target = endpointOf(next);
        // A camera reached over TLS must not send us on in clear (credentials, pinned certificate).
        if (original.secure && !target.secure) throw new RtspError('tls_mismatch', 'the camera redirects from rtsps:// to plain rtsp://; refused', { status: response.status });
        const current = endpointOf(this.#url);
        if (target.host !== current.host || target.port !== current.port || target.secure !== current.secure) this.#dropConnection();
        this.#url = next;
        // Credentials go to the camera's own host only, never to a host a redirect names.
        this.#withheldFrom = target.host === original.host ? undefined : target.host;
        this.#auth = new RtspAuthenticator(this.#withheldFrom === undefined ? this.#credentials : undefined);
        continue;
      }
      if (response.status !== 200) throw this.#failure('DESCRIBE', response);
      const sdp = response.body.toString('utf8');
      let description;
      try {
        description = parseSdp(sdp);
      } catch (error) {
        throw new RtspError('protocol_error', `the camera's SDP is unusable: ${(error as Error).message}`);
      }
      const base = this.#baseOf(response);
      const sessionBase = description.control && description.control !== '*' ? safeResolve(base, description.control) : base;
      this.#aggregate = sessionBase;
      const tracks = description.media.map((media, index): RtspTrack => ({
        index,
        url: safeResolve(sessionBase, media.control),
        media,
        codec: (media.rtpmap?.encoding ?? '').toLowerCase(),
        payloadType: media.rtpmap?.payloadType ?? media.formats[0] ?? 0,
        clockRate: media.rtpmap?.clockRate ?? 90_000,
      }));
      return { url: this.#url.toString(), redirects: hops, sdp, tracks };
    }
  }

  /**
   * SETUP of one track (RFC 2326 §10.4, transports §12.39): TCP interleaved channels 2i/2i+1, or a
   * local UDP port pair; a UDP SETUP answered 461 is retried over TCP. The first SETUP creates the
   * session; later ones join it. `options.externalRtp` receives a UDP track's RTP in place of the
   * client (no 'rtp' events for it then); a track that ends up on TCP still emits 'rtp'.
   */
  async setup(track: RtspTrack, transport: RtspTransport = this.#options.transport, options: { externalRtp?: ExternalRtpPort } = {}): Promise<RtspTrackTransport> {
    if (transport === 'udp') {
      const connection = await this.#ensureConnection();
      const udp = await UdpPortPair.open({
        remoteAddress: connection.remoteAddress ?? this.#url.hostname,
        onRtp: (packet) => this.#onRtp(track, packet),
        onRtcp: (packet) => this.#onRtcp(track, packet),
        ...(options.externalRtp && { externalRtp: options.externalRtp }),
      });
      try {
        const response = await this.#request('SETUP', track.url, [['Transport', `RTP/AVP;unicast;client_port=${udp.rtpPort}-${udp.rtcpPort}`], ...this.#sessionHeader()]);
        if (response.status === 461) {
          udp.close();
          return this.setup(track, 'tcp', options);
        }
        if (response.status !== 200) throw this.#failure('SETUP', response);
        const agreed = this.#acceptSession(response, track);
        if (agreed.kind === 'udp') {
          if (agreed.serverRtcpPort !== undefined) udp.rtcpTarget = { address: connection.remoteAddress ?? this.#url.hostname, port: agreed.serverRtcpPort };
          this.#tracks.set(track.index, { track, transport: agreed, udp });
        } else {
          udp.close();
          this.#bindChannels(track, agreed);
        }
        return agreed;
      } catch (error) {
        udp.close();
        throw error;
      }
    }
    const rtpChannel = track.index * 2;
    const response = await this.#request('SETUP', track.url, [['Transport', `RTP/AVP/TCP;unicast;interleaved=${rtpChannel}-${rtpChannel + 1}`], ...this.#sessionHeader()]);
    if (response.status !== 200) throw this.#failure('SETUP', response);
    const agreed = this.#acceptSession(response, track);
    if (agreed.kind !== 'tcp') throw new RtspError('unsupported', 'the camera answered a TCP SETUP with a UDP transport');
    this.#bindChannels(track, agreed);
    return agreed;
  }

  /** PLAY (RFC 2326 §10.5) from now on; then keepalives at half the session timeout. */
  async play(): Promise<void> {
    if (!this.#session) throw new RtspError('unsupported', 'PLAY before any SETUP');
    const response = await this.#request('PLAY', this.#aggregateUrl(), [['Range', 'npt=0.000-'], ...this.#sessionHeader()]);
    if (response.status !== 200) throw this.#failure('PLAY', response);
    this.#playing = true;
    this.#scheduleKeepalive();
  }

  /** Sends an RTCP packet (e.g. a PLI keyframe request, RFC 4585 §6.3.1) to the camera for a set-up track. */
  sendRtcp(track: RtspTrack, packet: Buffer): void {
    const entry = this.#tracks.get(track.index);
    if (!entry || this.#closing) return;
    this.stats.rtcpSent++;
    if (entry.transport.kind === 'tcp') this.#connection?.writeFrame(entry.transport.rtcpChannel, packet);
    else entry.udp?.sendRtcp(packet);
  }

  /** TEARDOWN (when a session exists; answered or not within 2 s), then releases everything. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#abort.abort();
      this.#closing = this.#teardown();
    }
    return this.#closing;
  }

  async #teardown(): Promise<void> {
    this.#clearKeepalive();
    const connection = this.#connection;
    // Behind a request the camera never answered, a TEARDOWN would never leave: drop the connection instead.
    if (this.#session && connection && !connection.closed && !connection.busy) {
      const headers: Array<[string, string]> = [['Session', this.#session.id], ['User-Agent', this.#options.userAgent]];
      const authorization = this.#auth.authorization('TEARDOWN', this.#aggregateUrl());
      if (authorization) headers.push(['Authorization', authorization]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        connection.request('TEARDOWN', this.#aggregateUrl(), headers).catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(2000, this.#options.timeoutMs)))),
      ]);
      clearTimeout(timer);
    }
    this.#dropConnection();
    for (const { udp } of this.#tracks.values()) udp?.close();
    this.#tracks.clear();
    this.#channels.clear();
    this.#session = undefined;
    this.removeAllListeners();
  }

  /**
   * The base for relative controls (RFC 2326 §C.1.1): Content-Base, else Content-Location, else the
   * request URL; a relative or empty header value is resolved against the request URL (RFC 2616 §14.14).
   */
  #baseOf(response: RtspResponse): string {
    for (const name of ['content-base', 'content-location']) {
      const value = response.headers.get(name)?.trim();
      if (!value) continue;
      try {
        return parseRtspUrl(new URL(value, this.#url).toString()).url.toString();
      } catch {
        throw new RtspError('protocol_error', `a ${name} that is not an rtsp URL`);
      }
    }
    return this.#url.toString();
  }

  /** The aggregate control URL for session-wide requests (PLAY, TEARDOWN, keepalives). */
  #aggregateUrl(): string {
    return this.#aggregate ?? this.#url.toString();
  }

  #sessionHeader(): Array<[string, string]> {
    return this.#session ? [['Session', this.#session.id]] : [];
  }

  async #ensureConnection(): Promise<RtspConnection> {
    if (this.#closing) throw new RtspError('closed', 'the client is closed');
    if (this.#connection && !this.#connection.closed) return this.#connection;
    // A session's interleaved channels live on its connection: it cannot move to another one.
    if (this.#session) throw new RtspError('unreachable', 'the connection to the camera was lost');
    const endpoint = endpointOf(this.#url);
    const address = await this.#addressOf(endpoint);
    if (this.#closing) throw new RtspError('closed', 'the client is closed');
    const connection = await RtspConnection.open({ ...endpoint, ...(address !== undefined && { address }) }, {
      timeoutMs: this.#options.timeoutMs,
      signal: this.#abort.signal,
      ...(this.#options.tls && { tls: this.#options.tls }),
      onFrame: (channel, payload) => this.#onFrame(channel, payload),
      onLost: (error) => this.#onLost(error),
    });
    if (this.#closing) {
      connection.close();
      throw new RtspError('closed', 'the client is closed');
    }
    this.#connection = connection;
    return connection;
  }

  /** The address `resolveEndpoint` approves for an endpoint (asked once per endpoint), or undefined without a hook. */
  async #addressOf(endpoint: RtspEndpoint): Promise<string | undefined> {
    const resolve = this.#options.resolveEndpoint;
    if (!resolve) return undefined;
    const key = endpointKey(endpoint);
    const known = this.#addresses.get(key);
    if (known !== undefined) return known;
    const redirected = key !== this.#origin;
    const refusal = (reason: unknown) => {
      const word = typeof reason === 'string' && /^[a-z_]{1,32}$/.test(reason) ? reason : undefined;
      // Never the address or the host: the message may be shown to whoever submitted the URL.
      const whose = redirected ? 'the address the camera redirects to' : "the camera's address";
      return new RtspError('address_refused', `${whose} is not allowed${word ? ` (${word})` : ''}`, { ...(word && { reason: word }), ...(redirected && { redirected }) });
    };
    const asked = Promise.resolve()
      .then(() => resolve({ url: this.#url.toString(), ...endpoint }))
      .catch((error: unknown) => {
        throw refusal((error as { details?: { reason?: unknown } } | undefined)?.details?.reason);
      });
    const answer = await bounded(asked, this.#options.timeoutMs, this.#abort.signal);
    const address = typeof answer?.address === 'string' ? answer.address.replace(/^\[|\]$/g, '') : '';
    if (isIP(address) === 0) throw refusal(undefined);
    this.#addresses.set(key, address);
    return address;
  }

  #dropConnection(): void {
    this.#connection?.close();
    this.#connection = undefined;
  }

  /**
   * One request with authentication (RFC 7235): a 401 is answered with the strongest challenge and
   * the request sent again; a camera that drops the connection after its 401 gets a new one.
   */
  async #request(method: string, uri: string, extra: Array<[string, string]>, options: { redirects?: boolean } = {}): Promise<RtspResponse> {
    for (let round = 0; ; round++) {
      const connection = await this.#ensureConnection();
      const headers: Array<[string, string]> = [...extra, ['User-Agent', this.#options.userAgent]];
      const authorization = this.#auth.authorization(method, uri);
      if (authorization) headers.push(['Authorization', authorization]);
      this.stats.requests++;
      const response = await connection.request(method, uri, headers);
      if (response.status !== 401) {
        if (!options.redirects && REDIRECT_STATUSES.has(response.status)) {
          throw new RtspError('unsupported', `${method} answered a redirect (${response.status}); only DESCRIBE may redirect`, { status: response.status });
        }
        return response;
      }
      this.#saw401 = true;
      const verdict = this.#auth.challenge(response.headers.all('www-authenticate'));
      if (verdict === 'retry' && round < MAX_AUTH_ROUNDS) continue;
      const why = {
        retry: 'the camera keeps asking for authentication',
        rejected: 'the camera refused the credentials',
        no_credentials: this.#withheldFrom
          ? `the camera redirected to another host (${this.#withheldFrom}), which asks for credentials; they are sent only to the camera's own host`
          : 'the camera requires credentials and none are configured',
        unsupported: 'the camera asks for an authentication scheme we do not support',
      }[verdict];
      throw new RtspError('unauthorized', `${why} (401 at ${method})`, { status: 401 });
    }
  }

  /** Maps a refusal to its code (RFC 2326 §7.1.1 status codes). */
  #failure(method: string, response: RtspResponse): RtspError {
    const status = response.status;
    const retryAfterMs = this.#session?.timeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (status === 403) {
      if (!this.#credentials) return new RtspError('busy', `the camera refused a session (403 at ${method}, no credentials configured)`, { status, retryAfterMs });
      if (this.#saw401 || this.#options.priorUnauthorized) return new RtspError('locked_out', `the camera locked this client out after refused logins (403 at ${method})`, { status });
      return new RtspError('unauthorized', `the camera forbids this user (403 at ${method})`, { status });
    }
    if (status === 453 || status === 503) return new RtspError('busy', `the camera serves too many sessions (${status} at ${method})`, { status, retryAfterMs });
    if (status === 404 || status === 454) return new RtspError('not_found', `${status === 404 ? 'no such stream' : 'no such session'} (${status} at ${method})`, { status });
    return new RtspError('unsupported', `${method} answered ${status} ${response.reason}`.trim(), { status });
  }

  /** Reads the Session (id;timeout=s, §12.37) and Transport (§12.39) of a SETUP answer. */
  #acceptSession(response: RtspResponse, track: RtspTrack): RtspTrackTransport {
    const sessionValue = response.headers.get('session');
    if (!sessionValue) throw new RtspError('protocol_error', 'a SETUP answer without a Session header');
    const [id = '', ...params] = sessionValue.split(';').map((part) => part.trim());
    if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new RtspError('protocol_error', 'a Session id that is empty or not printable');
    const timeout = params.map((param) => /^timeout\s*=\s*(\d{1,6})$/i.exec(param)?.[1]).find(Boolean);
    const timeoutMs = timeout && Number(timeout) > 0 ? Number(timeout) * 1000 : DEFAULT_SESSION_TIMEOUT_MS;
    if (this.#session && this.#session.id !== id) throw new RtspError('protocol_error', 'the camera changed the session id between SETUPs');
    this.#session = { id, timeoutMs };
    const transport = response.headers.get('transport') ?? '';
    const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}\\s*=\\s*([^;]*)`, 'i').exec(transport)?.[1]?.trim();
    const range = (value: string | undefined, max: number) => {
      const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value ?? '');
      if (!match) return undefined;
      const pair = [Number(match[1]), match[2] === undefined ? Number(match[1]) + 1 : Number(match[2])] as const;
      if (pair.some((n) => n > max)) throw new RtspError('protocol_error', `a Transport value out of range: ${value}`);
      return pair;
    };
    const ssrcText = field('ssrc');
    const ssrc = ssrcText && /^[0-9a-f]{1,8}$/i.test(ssrcText) ? parseInt(ssrcText, 16) : undefined;
    const interleaved = range(field('interleaved'), 255);
    if (/RTP\/AVP\/TCP/i.test(transport) || interleaved) {
      const [rtpChannel, rtcpChannel] = interleaved ?? [track.index * 2, track.index * 2 + 1];
      return { kind: 'tcp', rtpChannel: rtpChannel!, rtcpChannel: rtcpChannel!, ...(ssrc !== undefined && { ssrc }) };
    }
    const server = range(field('server_port'), 65535);
    const client = range(field('client_port'), 65535);
    if (server && (server[0] === 0 || server[1] === 0)) throw new RtspError('protocol_error', 'a server_port of 0');
    return {
      kind: 'udp',
      clientRtpPort: client?.[0] ?? 0,
      ...(server && { serverRtpPort: server[0], serverRtcpPort: server[1] }),
      ...(ssrc !== undefined && { ssrc }),
    };
  }

  #bindChannels(track: RtspTrack, transport: Extract<RtspTrackTransport, { kind: 'tcp' }>): void {
    for (const channel of [transport.rtpChannel, transport.rtcpChannel]) {
      const bound = this.#channels.get(channel);
      if (bound && bound.track.index !== track.index) throw new RtspError('protocol_error', `the camera gave interleaved channel ${channel} to two tracks`);
    }
    if (transport.rtpChannel === transport.rtcpChannel) throw new RtspError('protocol_error', 'the camera gave RTP and RTCP the same interleaved channel');
    this.#tracks.set(track.index, { track, transport });
    this.#channels.set(transport.rtpChannel, { track, rtcp: false });
    this.#channels.set(transport.rtcpChannel, { track, rtcp: true });
  }

  #onFrame(channel: number, payload: Buffer): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    if (entry.rtcp) this.#onRtcp(entry.track, payload);
    else this.#onRtp(entry.track, payload);
  }

  #onRtp(track: RtspTrack, packet: Buffer): void {
    // RFC 3550 §5.1: version 2 and at least the 12-byte fixed header; anything else is not RTP.
    if (packet.length < 12 || packet[0]! >> 6 !== 2) return;
    this.stats.rtpPackets++;
    this.emit('rtp', track, packet);
  }

  #onRtcp(track: RtspTrack, packet: Buffer): void {
    if (packet.length < 8 || packet[0]! >> 6 !== 2) return;
    this.stats.rtcpPackets++;
    this.emit('rtcp', track, packet);
  }

  #onLost(error: RtspError): void {
    if (this.#closing) return;
    // Before a session exists the next request opens a new connection; after, the session is gone.
    if (!this.#session) return;
    this.#clearKeepalive();
    this.#emitLost(error);
  }

  #emitLost(error: RtspError): void {
    if (this.#lostEmitted || this.#closing) return;
    this.#lostEmitted = true;
    this.emit('lost', error);
  }

  #scheduleKeepalive(): void {
    this.#clearKeepalive();
    if (!this.#session || this.#closing) return;
    const interval = Math.max(500, Math.floor(this.#session.timeoutMs / 2));
    this.#keepaliveTimer = setTimeout(() => void this.#keepalive(), interval);
  }

  #clearKeepalive(): void {
    if (this.#keepaliveTimer) clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = undefined;
  }

  /** GET_PARAMETER with the session (RFC 2326 §10.8); a camera answering 454/501/405 gets OPTIONS instead. */
  async #keepalive(): Promise<void> {
    this.#keepaliveTimer = undefined;
    if (!this.#session || this.#closing || !this.#playing) return;
    try {
      this.stats.keepalives++;
      let response = await this.#request(this.#keepaliveMethod, this.#aggregateUrl(), this.#sessionHeader());
      if (this.#keepaliveMethod === 'GET_PARAMETER' && [405, 454, 501].includes(response.status)) {
        this.#keepaliveMethod = 'OPTIONS';
        response = await this.#request('OPTIONS', this.#aggregateUrl(), this.#sessionHeader());
      }
      if (response.status >= 400 && response.status !== 405 && response.status !== 501) {
        throw this.#failure(this.#keepaliveMethod, response);
      }
      this.#scheduleKeepalive();
    } catch (error) {
      if (this.#closing) return;
      this.#clearKeepalive();
      this.#dropConnection();
      this.#emitLost(error instanceof RtspError ? error : new RtspError('unreachable', (error as Error).message));
    }
  }
}

/** Parses an rtsp(s) URL; takes credentials out of it (they are never sent in a request line). Throws TypeError when invalid. */
export function parseRtspUrl(text: string): { url: URL; credentials?: RtspCredentials } {
  const url = new URL(text);
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') throw new TypeError(`not an rtsp:// or rtsps:// URL`);
  if (!url.hostname) throw new TypeError('an RTSP URL without a host');
  let credentials: RtspCredentials | undefined;
  if (url.username || url.password) {
    credentials = { username: safeDecode(url.username), password: safeDecode(url.password) };
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  return { url, ...(credentials && { credentials }) };
}

/** The endpoint (host, port, scheme) an rtsp:// or rtsps:// URL connects to, as resolveEndpoint is asked about it. */
export function rtspEndpointOf(url: string): RtspEndpoint {
  return endpointOf(parseRtspUrl(url).url);
}

function endpointOf(url: URL): RtspEndpoint {
  const secure = url.protocol === 'rtsps:';
  return { host: url.hostname.replace(/^\[|\]$/g, '').toLowerCase(), port: Number(url.port) || (secure ? 322 : 554), secure };
}

function endpointKey(endpoint: RtspEndpoint): string {
  return `${endpoint.secure ? 'rtsps' : 'rtsp'}://[${endpoint.host}]:${endpoint.port}`;
}

/** The promise's outcome, unless `timeoutMs` passes first (timeout) or the signal aborts (closed). */
function bounded<T>(promise: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      settle();
      reject(new RtspError('closed', 'the client was closed while connecting'));
    };
    const timer = setTimeout(() => {
      settle();
      reject(new RtspError('timeout', `no address for the camera within ${timeoutMs} ms`));
    }, timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

function safeResolve(base: string, control: string | undefined): string {
  try {
    return resolveControl(base, control);
  } catch {
    throw new RtspError('protocol_error', 'a track control URL that cannot be resolved');
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
