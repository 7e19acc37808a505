import net from 'node:net';
import tls from 'node:tls';
import { RtspError } from './RtspError.ts';
import { RtspMessageReader, type RtspResponse, type RtspServerRequest } from './RtspMessageReader.ts';

/** How an rtsps camera's certificate is checked: against the system's CAs, or pinned by SHA-256 fingerprint (self-signed cameras). */
export interface RtspTlsPolicy {
  /** Verify the chain and host name against the system's CAs (ignored when a fingerprint is pinned). */
  verify: boolean;
  /** SHA-256 of the camera's certificate, hex with or without colons (as `openssl x509 -fingerprint -sha256` prints it). */
  fingerprint256?: string;
}

export interface RtspEndpoint {
  host: string;
  port: number;
  secure: boolean;
  /**
   * The IP address to connect to instead of looking `host` up (an address a guard approved). TLS
   * still sends `host` as the server name and checks the certificate against `host`.
   */
  address?: string;
}

export interface RtspConnectionOptions {
  /** Connect and per-request answer deadline (ms). */
  timeoutMs: number;
  tls?: RtspTlsPolicy;
  /** An interleaved frame arrived (channel, payload; the payload is a view valid during the call). */
  onFrame?: (channel: number, payload: Buffer) => void;
  /** Aborts the connection attempt (the client was closed meanwhile): open() rejects with `closed`. */
  signal?: AbortSignal;
  /** The connection ended without close() being called: the reason. Called at most once. */
  onLost?: (error: RtspError) => void;
}

interface Pending {
  cseq: number;
  method: string;
  resolve(response: RtspResponse): void;
  reject(error: RtspError): void;
  timer: NodeJS.Timeout;
}

/**
 * One RTSP control connection over TCP or TLS (RFC 2326 §10): sends requests one at a time with
 * increasing CSeq and matches each answer by CSeq; carries interleaved RTP/RTCP frames both ways.
 * A request not answered within `timeoutMs` (a silent or trickling camera) fails with `timeout`
 * and drops the connection, since a late answer could no longer be matched safely.
 */
export class RtspConnection {
  readonly #socket: net.Socket;
  readonly #reader: RtspMessageReader;
  readonly #options: RtspConnectionOptions;
  #cseq = 0;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #failure: RtspError | undefined;
  /** The camera's address as connected (for filtering UDP packets by source). */
  remoteAddress: string | undefined;

  private constructor(socket: net.Socket, options: RtspConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#reader = new RtspMessageReader({
      response: (response) => this.#onResponse(response),
      request: (request) => this.#onCameraRequest(request),
      frame: (channel, payload) => this.#options.onFrame?.(channel, payload),
    });
    this.remoteAddress = socket.remoteAddress;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk);
      } catch (error) {
        this.#lose(error as RtspError);
      }
    });
    socket.on('error', (error) => this.#lose(new RtspError('unreachable', `connection failed: ${describeSocketError(error)}`)));
    socket.on('close', () => this.#lose(new RtspError('unreachable', 'the camera closed the connection')));
  }

  /** Connects (TCP, or TLS checked by the policy). Throws RtspError unreachable, timeout or tls_mismatch. */
  static async open(endpoint: RtspEndpoint, options: RtspConnectionOptions): Promise<RtspConnection> {
    const socket = await connect(endpoint, options);
    const connection = new RtspConnection(socket, options);
    connection.remoteAddress ??= endpoint.address;
    return connection;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A request is waiting for its answer. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** Bytes held by the parser for an incomplete message. */
  get buffered(): number {
    return this.#reader.buffered;
  }

  /**
   * Sends a request and resolves with its answer (any status). `headers` must not hold CSeq.
   * Requests are queued: one is outstanding at a time. Throws RtspError when the connection fails.
   */
  request(method: string, uri: string, headers: Array<[string, string]>): Promise<RtspResponse> {
    const run = this.#queue.then(() => this.#send(method, uri, headers));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #send(method: string, uri: string, headers: Array<[string, string]>): Promise<RtspResponse> {
    if (this.#closed) return Promise.reject(this.#failure ?? new RtspError('closed', 'the connection is closed'));
    const cseq = ++this.#cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
    for (const line of lines) {
      if (/[\r\n]/.test(line)) return Promise.reject(new RtspError('protocol_error', 'a request header holds a line break'));
    }
    // A request URI is absolute and printable ASCII without spaces (RFC 2326 §6.1, RFC 3986): a camera's
    // control attribute that resolves to anything else would make a request line strict cameras refuse.
    if (!/^rtsps?:\/\/[\x21-\x7e]+$/.test(uri) && uri !== '*') {
      return Promise.reject(new RtspError('protocol_error', `a request URI that is not an absolute rtsp URL of printable characters: ${JSON.stringify(uri.slice(0, 80))}`));
    }
    return new Promise<RtspResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#lose(new RtspError('timeout', `no answer to ${method} within ${this.#options.timeoutMs} ms`));
      }, this.#options.timeoutMs);
      this.#pending = { cseq, method, resolve, reject, timer };
      this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  /** Sends an interleaved frame (RFC 2326 §10.12): `$`, channel, 16-bit length, payload. Dropped when closed. */
  writeFrame(channel: number, payload: Buffer): void {
    if (this.#closed || payload.length > 0xffff) return;
    const header = Buffer.from([0x24, channel, payload.length >> 8, payload.length & 0xff]);
    this.#socket.write(Buffer.concat([header, payload]));
  }

  /** Drops the connection now; an outstanding request fails with `closed`. */
  close(): void {
    this.#end(new RtspError('closed', 'the connection was closed'), false);
  }

  #onResponse(response: RtspResponse): void {
    const pending = this.#pending;
    const cseqText = response.headers.get('cseq');
    const cseq = cseqText !== undefined && /^\d{1,10}$/.test(cseqText.trim()) ? Number(cseqText.trim()) : undefined;
    if (!pending) {
      // An answer to a request that already failed (or an unsolicited one): nothing waits for it.
      if (cseq === undefined || cseq > this.#cseq) throw new RtspError('protocol_error', 'an RTSP answer nobody asked for');
      return;
    }
    // Some cameras omit CSeq; an older CSeq is a late answer to an earlier request; a newer one is a broken camera.
    if (cseq !== undefined && cseq < pending.cseq) return;
    if (cseq !== undefined && cseq > pending.cseq) throw new RtspError('protocol_error', `an answer with CSeq ${cseq} to request ${pending.cseq}`);
    clearTimeout(pending.timer);
    this.#pending = undefined;
    pending.resolve(response);
  }

  /** Answers a camera's own request: OPTIONS and GET_PARAMETER (keepalives) with 200, anything else 501. */
  #onCameraRequest(request: RtspServerRequest): void {
    const cseq = request.headers.get('cseq')?.replace(/[^\d]/g, '').slice(0, 10) ?? '0';
    const ok = request.method === 'OPTIONS' || request.method === 'GET_PARAMETER';
    if (!this.#closed) this.#socket.write(`RTSP/1.0 ${ok ? '200 OK' : '501 Not Implemented'}\r\nCSeq: ${cseq}\r\n\r\n`);
  }

  #lose(error: RtspError): void {
    this.#end(error, true);
  }

  #end(error: RtspError, lost: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure = error;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#socket.destroy();
    if (lost) this.#options.onLost?.(error);
  }
}

function connect(endpoint: RtspEndpoint, options: RtspConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const pinned = options.tls?.fingerprint256 ? normaliseFingerprint(options.tls.fingerprint256) : undefined;
    const verify = pinned === undefined && (options.tls?.verify ?? true);
    // Never rejected by node itself: the certificate is checked below, after the handshake, so that a
    // refusal can name the fingerprint the camera presented. Node still verifies the chain and the
    // host name (checkServerIdentity on the servername, or the IP) and reports it in `authorized`.
    // With an approved address, node connects to it without a lookup; the certificate is still
    // checked against the host name (an IP literal cannot be a server name, hence the explicit check).
    const address = endpoint.address ?? endpoint.host;
    const socket = endpoint.secure
      ? tls.connect({
          host: address,
          port: endpoint.port,
          ...(!net.isIP(endpoint.host) && { servername: endpoint.host }),
          ...(endpoint.address !== undefined && { checkServerIdentity: (_name: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(endpoint.host, cert) }),
          rejectUnauthorized: false,
        })
      : net.connect({ host: address, port: endpoint.port });
    const timer = setTimeout(() => fail(new RtspError('timeout', `no connection within ${options.timeoutMs} ms`)), options.timeoutMs);
    const onAbort = () => fail(new RtspError('closed', 'the client was closed while connecting'));
    const fail = (error: RtspError) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const tlsFailure = endpoint.secure && (/CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS/.test(error.code ?? '') || /certificate/i.test(error.message));
      fail(new RtspError(tlsFailure ? 'tls_mismatch' : 'unreachable', tlsFailure ? `the camera's certificate was refused (${error.code ?? error.message})` : `connection failed: ${describeSocketError(error)}`));
    });
    socket.once(endpoint.secure ? 'secureConnect' : 'connect', () => {
      if (endpoint.secure) {
        const refusal = certificateRefusal(socket as tls.TLSSocket, pinned, verify);
        if (refusal) return fail(refusal);
      }
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/**
 * Why a camera's certificate is refused under the policy, or undefined when it is accepted: a pin
 * must match exactly; otherwise, when verifying, node's verdict (chain and host name) must be good.
 * The message names the SHA-256 fingerprint the camera presented (public), so that an administrator
 * who knows the certificate is the camera's own can pin it.
 */
function certificateRefusal(socket: tls.TLSSocket, pinned: string | undefined, verify: boolean): RtspError | undefined {
  const presented = normaliseFingerprint(socket.getPeerCertificate()?.fingerprint256 ?? '');
  const shown = presented.length > 0 ? `SHA-256 ${formatFingerprint(presented)}` : 'no certificate';
  if (pinned !== undefined) {
    if (presented.length > 0 && presented === pinned) return undefined;
    return new RtspError(
      'tls_mismatch',
      `the camera's certificate does not match the pinned fingerprint; it presented ${shown}; if that is the camera's own (renewed) certificate, pin it as the camera's tlsFingerprint`,
    );
  }
  if (!verify || socket.authorized) return undefined;
  const why = socket.authorizationError ? String(socket.authorizationError) : 'not verified';
  return new RtspError('tls_mismatch', `the camera's certificate is not trusted (${why}); it presented ${shown}; if that is the camera's own certificate, pin it as the camera's tlsFingerprint`);
}

function normaliseFingerprint(value: string): string {
  return value.replace(/[^0-9a-f]/gi, '').toLowerCase();
}

/** Upper-case hex, colon-separated bytes: as `openssl x509 -fingerprint -sha256` prints it. */
function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  return error.code ?? error.message;
}
