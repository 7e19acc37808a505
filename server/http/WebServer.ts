import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface WebServerOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
}

/** The HTTP or, when a certificate is configured, HTTPS-only server; listens in create(). */
export class WebServer {
  private constructor(
    readonly server: Server,
    readonly secure: boolean,
  ) {}

  static async create(listener: RequestListener, options: WebServerOptions): Promise<WebServer> {
    const secure = Boolean(options.tlsCert && options.tlsKey);
    const server = secure
      ? (createHttpsServer({ cert: readFileSync(options.tlsCert!), key: readFileSync(options.tlsKey!) }, listener) as unknown as Server)
      : createHttpServer(listener);
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new WebServer(server, secure);
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
