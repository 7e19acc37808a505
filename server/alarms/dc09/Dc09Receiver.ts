import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../logging/createLogger.ts';
import { Dc09FrameReader } from './Dc09FrameReader.ts';
import type { Dc09Intake, Dc09Outcome, Dc09Source } from './Dc09Intake.ts';
import { MAX_FRAME_BYTES } from './Dc09Frame.ts';

/** Frames of one TCP connection waiting to be handled, at most, before it stops being read. */
const MAX_QUEUED = 32;
/** Answers waiting to be sent on one connection (bytes), at most, before it stops being read. */
const WRITE_LIMIT = 64 * 1024;

export interface Dc09ReceiverSettings {
  host: string;
  /** TCP and UDP; 0 picks a free port for both. */
  port: number;
  maxConnectionsPerAddress: number;
  maxConnections: number;
  /** A TCP connection silent this long is closed (ms). */
  idleTimeoutMs: number;
  /** A frame must arrive whole within this long of its first byte (ms). */
  frameTimeoutMs: number;
}

/**
 * The SIA DC-09 receiver's network side: a TCP server (panels with a persistent or per-event link)
 * and a UDP socket on the same port. TCP streams are cut into frames (Dc09FrameReader) and answered
 * in order on their connection; each UDP datagram is one frame, answered to its sender. Connections
 * are bounded per source address and in all; a connection is closed when idle, or when a frame does
 * not arrive whole in time (a client trickling bytes or never sending the CR). What a frame means is
 * Dc09Intake's. Created listening (`create`), closed with `close()`, which ends every connection.
 */
export class Dc09Receiver {
  readonly #connections = new Set<Socket>();
  readonly #perAddress = new Map<string, number>();
  #closed = false;
  /** Observer for tests and metrics: every frame's outcome. */
  onOutcome: ((outcome: Dc09Outcome, source: Dc09Source) => void) | undefined;

  private constructor(
    private readonly tcp: Server,
    private readonly udp: UdpSocket,
    readonly port: number,
    private readonly intake: Dc09Intake,
    private readonly settings: Dc09ReceiverSettings,
    private readonly logger: Logger,
  ) {
    tcp.on('connection', (socket) => this.#accept(socket));
    udp.on('message', (message, remote) => void this.#datagram(message, remote.address, remote.port));
    udp.on('error', (error) => logger.error({ err: error }, 'DC-09 UDP socket error'));
    tcp.on('error', (error) => logger.error({ err: error }, 'DC-09 TCP server error'));
  }

  /** Listens on TCP and UDP (the same port; with port 0, a free one for both). */
  static async create(intake: Dc09Intake, settings: Dc09ReceiverSettings, logger: Logger): Promise<Dc09Receiver> {
    for (let attempt = 0; ; attempt++) {
      const tcp = createServer({ noDelay: true });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(settings.port, settings.host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      const port = (tcp.address() as { port: number }).port;
      const udp = createSocket({ type: settings.host.includes(':') ? 'udp6' : 'udp4' });
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(port, settings.host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        udp.close();
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
        // Port 0: the UDP port of the TCP port's number was taken; pick another pair.
        if (settings.port === 0 && (error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
        throw error;
      }
      tcp.maxConnections = settings.maxConnections;
      logger.info({ port, host: settings.host }, 'SIA DC-09 receiver listening (TCP and UDP)');
      return new Dc09Receiver(tcp, udp, port, intake, settings, logger);
    }
  }

  /** Open TCP connections now. */
  get connections(): number {
    return this.#connections.size;
  }

  #accept(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const open = this.#perAddress.get(address) ?? 0;
    if (this.#closed || open >= this.settings.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    this.#perAddress.set(address, open + 1);
    this.#connections.add(socket);
    const reader = new Dc09FrameReader();
    const source: Dc09Source = { address, transport: 'tcp' };
    /** Answers go out in the order the frames came, one frame at a time per connection. */
    let queue: Promise<void> = Promise.resolve();
    /** Frames read and not yet handled: past MAX_QUEUED the connection stops being read until they are. */
    let queued = 0;
    let frameTimer: NodeJS.Timeout | undefined;
    const armFrameTimer = () => {
      clearTimeout(frameTimer);
      frameTimer = undefined;
      if (reader.pendingSince === undefined) return;
      const left = reader.pendingSince + this.settings.frameTimeoutMs - Date.now();
      frameTimer = setTimeout(() => {
        this.logger.debug({ source: address }, 'DC-09 connection closed: a frame did not arrive whole in time');
        socket.destroy();
      }, Math.max(0, left));
    };
    socket.setTimeout(this.settings.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const { frames, discarded } = reader.push(chunk);
      if (discarded > 0) this.logger.debug({ source: address, bytes: discarded }, 'DC-09 bytes outside a frame discarded');
      armFrameTimer();
      for (const frame of frames) {
        queued++;
        queue = queue.then(async () => {
          const { answer, outcome } = await this.intake.handle(frame, source);
          this.#observe(outcome, source);
          if (answer && !socket.destroyed) socket.write(answer);
          queued--;
          if (queued <= MAX_QUEUED / 2 && socket.isPaused() && socket.writableLength <= WRITE_LIMIT) socket.resume();
        });
      }
      // A client that sends faster than we handle or it reads: stop reading it until we caught up.
      if (queued > MAX_QUEUED || socket.writableLength > WRITE_LIMIT) socket.pause();
    });
    socket.on('drain', () => {
      if (queued <= MAX_QUEUED / 2) socket.resume();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(frameTimer);
      this.#connections.delete(socket);
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, left);
    });
  }

  async #datagram(message: Buffer, address: string, port: number): Promise<void> {
    if (this.#closed || message.length > MAX_FRAME_BYTES) return;
    const source: Dc09Source = { address, transport: 'udp' };
    const { answer, outcome } = await this.intake.handle(message, source);
    this.#observe(outcome, source);
    if (answer && !this.#closed) this.udp.send(answer, port, address, (error) => error && this.logger.debug({ err: error }, 'DC-09 UDP answer not sent'));
  }

  /** Tells the observer, whose failure must not stop the answers. */
  #observe(outcome: Dc09Outcome, source: Dc09Source): void {
    try {
      this.onOutcome?.(outcome, source);
    } catch (error) {
      this.logger.error({ err: error }, 'DC-09 outcome observer failed');
    }
  }

  /** Stops listening and ends every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#connections) socket.destroy();
    this.#connections.clear();
    this.#perAddress.clear();
    await Promise.all([new Promise<void>((resolve) => this.tcp.close(() => resolve())), new Promise<void>((resolve) => this.udp.close(() => resolve()))]);
  }
}
