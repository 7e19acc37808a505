import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { RequestListener } from 'node:http';

/**
 * Connection limits against slow or hoarding clients (slow-loris: headers sent a byte at a time;
 * many idle sockets). Hard-coded sane defaults; tests pass shorter ones.
 */
export interface ConnectionLimits {
  /** The whole header block must arrive within this (a slow-loris client is answered 408 and closed). */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** How often the server checks the header and request timeouts. */
  checkIntervalMs: number;
  /** A TLS handshake must complete within this (HTTPS only). */
  tlsHandshakeTimeoutMs: number;
  /** Open connections at most (server.maxConnections); further ones are refused at once. */
  maxConnections: number;
  /** Open connections from one remote address at most (0: no cap). A reverse proxy counts as one address. */
  maxConnectionsPerIp: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 10_000,
  maxConnectionsPerIp: 512,
};

export interface WebServerOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  limits?: Partial<ConnectionLimits>;
}

/** The HTTP or, when a certificate is configured, HTTPS-only server; listens in create(). */
export class WebServer {
  private constructor(
    readonly server: Server,
    readonly secure: boolean,
    readonly limits: ConnectionLimits,
  ) {}

  static async create(listener: RequestListener, options: WebServerOptions): Promise<WebServer> {
    const limits: ConnectionLimits = { ...defaultConnectionLimits, ...options.limits };
    const secure = Boolean(options.tlsCert && options.tlsKey);
    const common = {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    };
    const server = secure
      ? (createHttpsServer(
          { ...common, cert: readFileSync(options.tlsCert!), key: readFileSync(options.tlsKey!), handshakeTimeout: limits.tlsHandshakeTimeoutMs },
          listener,
        ) as unknown as Server)
      : createHttpServer(common, listener);
    // Set again: older option handling ignores some of these in the constructor.
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = limits.requestTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    server.maxConnections = limits.maxConnections;
    if (limits.maxConnectionsPerIp > 0) capPerAddress(server, limits.maxConnectionsPerIp);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new WebServer(server, secure, limits);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** Destroys a new connection when its remote address already holds `max` open ones. */
function capPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  // 'connection' for HTTP; the TLS server emits it for the raw socket before the handshake too.
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
