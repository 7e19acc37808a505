import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { types } from 'mediasoup';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { ChildProcessLedger } from '../../workers/ChildProcessLedger.ts';
import { sdpInputArgs, transcoderSdp } from '../../workers/ffmpegArgs.ts';
import { readFfmpegProgress, readLines } from '../../workers/ffmpegProgress.ts';
import { freeLoopbackPortPair } from '../../workers/freeLoopbackPortPair.ts';
import { spawnOwned, stopChild } from '../../workers/spawnOwned.ts';

export interface ProducerFfmpegOptions {
  /** The router the producer lives on (the consumer and its PlainTransport are made there). */
  router: types.Router;
  producer: types.Producer;
  ffmpegPath: string;
  /**
   * What ffmpeg does with the decoded stream: everything after the input, e.g.
   * `['-f', 'null', '-']`, an RTP output, or `['-frames:v', '1', '-f', 'image2pipe', '-c:v', 'mjpeg', 'pipe:1']`
   * (stdout is free for output: progress goes to fd 3; read it from `output`).
   */
  outputArgs: string[];
  /**
   * Asks the producer's source for a keyframe outside mediasoup (CameraFeed.keyframeRequester): a
   * producer that declares no PLI/FIR feedback never gets mediasoup's keyframe requests.
   */
  requestKeyframe?: () => void;
  /** Told of the ffmpeg process started and ended (the server's ChildProcessLedger). */
  ledger?: Pick<ChildProcessLedger, 'add' | 'remove'>;
  /** Receives every ffmpeg stderr line (there is no URL or credential on this ffmpeg's input). */
  onLog?: (line: string) => void;
}

/** ffmpeg's `-progress` report, once a second. */
export interface ProducerFfmpegProgress {
  /** Frames ffmpeg has output since it started. */
  frames: number;
  /** Output frames per second, as ffmpeg measures it. */
  fps: number;
  /** Output bit rate (kbit/s); 0 when the output has no size ffmpeg can count. */
  kbps: number;
}

/** Why a ProducerFfmpeg ended without close() being called. */
export interface ProducerFfmpegExit {
  reason: 'ffmpeg_exited' | 'producer_closed' | 'transport_closed';
  /** What happened, for logs: ffmpeg's exit status and last stderr line, or what closed. */
  message: string;
  /** ffmpeg's exit code (null when killed by a signal or not spawned). */
  code: number | null;
}

export type ProducerFfmpegEvents = {
  progress: [ProducerFfmpegProgress];
  /** The first frame came out of ffmpeg (keyframe requests stop). */
  firstframe: [];
  /**
   * The process ended by itself (ffmpeg exited: a one-frame snapshot, or a failure), or its input
   * went away (the producer or the transport closed). Emitted once, after everything is released;
   * never after close().
   */
  exit: [ProducerFfmpegExit];
};

/** Wait this long after spawning before resuming the consumer: ffmpeg has bound its input ports (ms). */
const SPAWN_SETTLE_MS = 300;
/** Keyframe requests repeat this often until the first frame (ms). */
const KEYFRAME_RETRY_MS = 1000;
/** Stderr lines kept for the exit message. */
const LAST_LINES = 3;

/**
 * An ffmpeg process fed from a mediasoup Producer on the same machine: a PlainTransport (127.0.0.1,
 * RTCP not muxed, no comedia) with one Consumer of the producer sends its RTP to a loopback port
 * pair ffmpeg listens on, described by an SDP written to ffmpeg's stdin. ffmpeg decodes and does
 * whatever `outputArgs` say (a transcode to RTP, a snapshot). The consumer is resumed once ffmpeg
 * has bound its ports, and a keyframe is asked for every second (from mediasoup and from
 * `requestKeyframe`) until the first frame comes out. The camera is never contacted again.
 *
 * Owns its transport, consumer and process: close() releases all three; an end not caused by
 * close() (ffmpeg died, the producer or transport closed) releases them too and emits `exit`.
 */
export class ProducerFfmpeg extends TypedEmitter<ProducerFfmpegEvents> {
  readonly #options: ProducerFfmpegOptions;
  readonly #transport: types.PlainTransport;
  readonly #consumer: types.Consumer;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #lastLines: string[] = [];
  #frames = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** How it ended by itself, if it did. */
  #ended: ProducerFfmpegExit | undefined;

  private constructor(options: ProducerFfmpegOptions, transport: types.PlainTransport, consumer: types.Consumer, child: ChildProcess) {
    super();
    this.#options = options;
    this.#transport = transport;
    this.#consumer = consumer;
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('close', () => resolve());
    });
  }

  /**
   * Consumes `producer` into a new ffmpeg running `outputArgs`. Resolves once ffmpeg is spawned and
   * the consumer resumed; rejects (with nothing left behind) when the producer cannot be consumed,
   * no loopback port pair is free, or ffmpeg cannot be spawned.
   */
  static async start(options: ProducerFfmpegOptions): Promise<ProducerFfmpeg> {
    const { router, producer } = options;
    if (producer.closed) throw new Error('ProducerFfmpeg: the producer is closed');
    if (!router.canConsume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities })) {
      throw new Error(`ProducerFfmpeg: the router cannot consume producer ${producer.id}`);
    }
    const transport = await router.createPlainTransport({ listenIp: '127.0.0.1', rtcpMux: false, comedia: false, appData: { producerFfmpeg: producer.id } });
    let child: ChildProcess | undefined;
    try {
      const port = await freeLoopbackPortPair();
      await transport.connect({ ip: '127.0.0.1', port, rtcpPort: port + 1 });
      const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
      const codec = consumer.rtpParameters.codecs[0];
      if (!codec) throw new Error('ProducerFfmpeg: the consumer has no codec');
      const fmtp: Record<string, string> = {};
      for (const key of ['packetization-mode', 'profile-level-id']) {
        const value = codec.parameters?.[key] as unknown;
        if (value !== undefined) fmtp[key] = String(value);
      }
      const sdp = transcoderSdp({ port, payloadType: codec.payloadType, encoding: codec.mimeType.split('/')[1] ?? '', clockRate: codec.clockRate, fmtp });
      const args = [
        ...sdpInputArgs(),
        ...options.outputArgs,
        // Progress on fd 3, so stdout stays free for the caller's output.
        '-progress', 'pipe:3', '-stats_period', '1', '-nostats',
      ];
      const spawned = spawnOwned(options.ffmpegPath, args, ['pipe', 'pipe', 'pipe', 'pipe']);
      child = spawned;
      await new Promise<void>((resolve, reject) => {
        spawned.once('spawn', resolve);
        spawned.once('error', reject);
      });
      if (spawned.pid !== undefined) options.ledger?.add(spawned.pid, options.ffmpegPath);
      spawned.stdin?.on('error', () => undefined);
      spawned.stdin?.end(sdp);
      const instance = new ProducerFfmpeg(options, transport, consumer, spawned);
      instance.#watch();
      await new Promise((resolve) => setTimeout(resolve, SPAWN_SETTLE_MS));
      if (!instance.#closed) await instance.#resume();
      // Ended by itself while starting (ffmpeg refused its arguments, the producer closed): its
      // 'exit' went out before the caller could listen, so the start fails instead.
      if (instance.#ended) {
        await instance.#closing;
        throw new Error(`ProducerFfmpeg: ${instance.#ended.message}`);
      }
      return instance;
    } catch (error) {
      transport.close();
      if (child) {
        await stopChild(child);
        if (child.pid !== undefined) options.ledger?.remove(child.pid);
      }
      throw error;
    }
  }

  /** ffmpeg's pid. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** ffmpeg's stdout: the output, when `outputArgs` write to pipe:1. */
  get output(): Readable | null {
    return this.#child.stdout;
  }

  /** Frames out of ffmpeg so far (from its last progress report). */
  get frames(): number {
    return this.#frames;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The PlainTransport feeding ffmpeg (tests check it is closed). */
  get transport(): types.PlainTransport {
    return this.#transport;
  }

  get consumer(): types.Consumer {
    return this.#consumer;
  }

  /** "I close": consumer and transport closed, ffmpeg's process group stopped; resolves when ffmpeg exited. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = this.#release();
    }
    return this.#closing;
  }

  async #resume(): Promise<void> {
    await this.#consumer.resume();
    const ask = () => {
      if (this.#closed || this.#frames > 0) return;
      this.#consumer.requestKeyFrame().catch(() => undefined);
      this.#options.requestKeyframe?.();
    };
    ask();
    this.#timers.push(setInterval(ask, KEYFRAME_RETRY_MS));
  }

  #watch(): void {
    const child = this.#child;
    if (child.stderr) {
      readLines(child.stderr, (raw) => {
        const line = raw.trim();
        if (!line) return;
        this.#lastLines.push(line);
        if (this.#lastLines.length > LAST_LINES) this.#lastLines.shift();
        this.#options.onLog?.(line);
      });
    }
    const progressStream = child.stdio[3] as Readable | null | undefined;
    if (progressStream) {
      readFfmpegProgress(progressStream, ({ frames, fps, kbps }) => {
        const first = this.#frames === 0 && frames > 0;
        this.#frames = Math.max(this.#frames, frames);
        if (this.#closed) return;
        this.emit('progress', { frames: this.#frames, fps, kbps });
        if (first) this.emit('firstframe');
      });
    }
    child.once('close', (code, signal) => {
      if (child.pid !== undefined) this.#options.ledger?.remove(child.pid);
      const last = this.#lastLines.join(' | ');
      this.#end({ reason: 'ffmpeg_exited', message: `ffmpeg exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`, code });
    });
    this.#consumer.on('producerclose', () => this.#end({ reason: 'producer_closed', message: 'the producer closed', code: null }));
    this.#consumer.on('transportclose', () => this.#end({ reason: 'transport_closed', message: 'the transport closed (its router closed)', code: null }));
    this.#transport.on('routerclose', () => this.#end({ reason: 'transport_closed', message: 'the transport closed (its router closed)', code: null }));
  }

  /** An end not caused by close(): release everything, then tell once. */
  #end(exit: ProducerFfmpegExit): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ended = exit;
    this.#closing = this.#release().then(() => this.emit('exit', exit));
  }

  async #release(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.length = 0;
    // Closing the transport closes its consumer.
    this.#transport.close();
    await stopChild(this.#child);
    await this.#exited;
  }
}
