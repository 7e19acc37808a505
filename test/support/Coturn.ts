/**
 * A coturn TURN server (Debian's `coturn` package, /usr/bin/turnserver) for tests of networks that
 * let only 443 out. It authenticates with the TURN REST-API shared secret (`use-auth-secret`,
 * `static-auth-secret`: server/media/TurnCredentials.ts issues the matching credentials) and listens
 * on one address and port (default 443) over TCP, where coturn accepts both plain TURN and TURN
 * over TLS on the same port (it sniffs the first bytes): `turn:<ip>:443?transport=tcp` and, with a
 * certificate, `turns:<ip>:443?transport=tcp`. Relay endpoints (UDP) are allocated on the same
 * address in a port range.
 *
 *   const turn = await Coturn.start({ address: nb.hostAddress, secret: 's3cret' });
 *   turn.urls      // ['turns:10.77.k.1:443?transport=tcp', 'turn:10.77.k.1:443?transport=tcp']
 *   await turn.stop();
 *
 * The process is started with an argument array (no shell) and its own config file, pid file,
 * certificate and key in a temp dir that stop() removes. The log goes to stdout, kept in `log`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TURNSERVER_PATH = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

export interface CoturnOptions {
  /** The address it listens on and relays from (e.g. the root side of a NetnsBrowser's veth). */
  address: string;
  /** The REST-API shared secret. */
  secret: string;
  /** TCP (and UDP) listening port for TURN, TLS included. Default 443. */
  port?: number;
  /** Relay ports (UDP) on `address`. Default 49160-49259. */
  minPort?: number;
  maxPort?: number;
  /** Serve TLS with a throwaway self-signed certificate for `address` (default true). */
  tls?: boolean;
  realm?: string;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (error, _stdout, stderr) => (error ? reject(new Error(`openssl failed: ${error.message}\n${stderr}`)) : resolve()));
  });
}

export class Coturn {
  /** The TURN server's log (stdout and stderr), the last 64 kB. */
  log = '';
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
  /** The self-signed certificate (PEM) when tls: what a client must trust for turns: (NetnsBrowser's trustCertificates). */
  certificate: string | undefined;
  readonly #dir: string;
  #child: ChildProcess | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(address: string, port: number, tls: boolean, dir: string) {
    this.address = address;
    this.port = port;
    this.tls = tls;
    this.#dir = dir;
  }

  /** `turns:` (when TLS is on) then `turn:`, both TCP on the one port. */
  get urls(): string[] {
    const plain = `turn:${this.address}:${this.port}?transport=tcp`;
    return this.tls ? [`turns:${this.address}:${this.port}?transport=tcp`, plain] : [plain];
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  static async start(options: CoturnOptions): Promise<Coturn> {
    const dir = mkdtempSync(join(tmpdir(), 'c5-coturn-'));
    const turn = new Coturn(options.address, options.port ?? 443, options.tls ?? true, dir);
    try {
      await turn.#start(options);
      return turn;
    } catch (error) {
      await turn.stop();
      throw new Error(`${(error as Error).message}\n${turn.log.slice(-3000)}`);
    }
  }

  async #start(options: CoturnOptions): Promise<void> {
    const lines = [
      `listening-ip=${this.address}`,
      `relay-ip=${this.address}`,
      `listening-port=${this.port}`,
      `min-port=${options.minPort ?? 49160}`,
      `max-port=${options.maxPort ?? 49259}`,
      'use-auth-secret',
      `static-auth-secret=${options.secret}`,
      `realm=${options.realm ?? 'c5.test'}`,
      'fingerprint',
      'no-cli',
      'no-dtls',
      'no-rfc5780',
      'no-multicast-peers',
      'no-software-attribute',
      'no-tlsv1',
      'no-tlsv1_1',
      'log-file=stdout',
      'simple-log',
      `pidfile=${join(this.#dir, 'turnserver.pid')}`,
      `userdb=${join(this.#dir, 'turndb')}`,
    ];
    if (this.tls) {
      const cert = join(this.#dir, 'cert.pem');
      const key = join(this.#dir, 'key.pem');
      await openssl([
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', `/CN=${this.address}`, '-addext', `subjectAltName=IP:${this.address}`, '-keyout', key, '-out', cert,
      ]);
      lines.push(`cert=${cert}`, `pkey=${key}`);
      this.certificate = readFileSync(cert, 'utf8');
    } else {
      lines.push('no-tls');
    }
    const configFile = join(this.#dir, 'turnserver.conf');
    writeFileSync(configFile, lines.join('\n') + '\n', { mode: 0o600 });
    const child = spawn(TURNSERVER_PATH, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-65536);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`turnserver exited while starting (${code ?? signal})`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect(this.port, this.address);
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (up) return;
      if (child.exitCode !== null || child.signalCode !== null) await exited;
      if (Date.now() > deadline) throw new Error(`turnserver did not listen on ${this.address}:${this.port} within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops turnserver (SIGTERM, then SIGKILL after 3 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const child = this.#child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }
}
