import { randomInt } from 'node:crypto';
import { AppError } from '../errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { ChildProcessLedger } from '../../workers/ChildProcessLedger.ts';
import type { Ingest, IngestDescription, IngestEvents, RtpTarget } from '../../workers/Ingest.ts';
import { IngestError, type IngestFailureReason } from '../../workers/IngestError.ts';
import { h264Codec } from '../../workers/h264.ts';
import { h264EncodeArgs, rtpOutputArgs } from '../../workers/ffmpegArgs.ts';
import type { CameraFeed } from '../media/CameraFeed.ts';
import { ProducerFfmpeg } from '../media/ProducerFfmpeg.ts';
import type { CameraLease } from './CameraManager.ts';
import type { LowTierSlots } from './LowTierSlots.ts';

/** The low tier's picture: fitted inside width x height (aspect kept, even sizes), at most `fps`, `kbps` average and peak. */
export interface LowTierSettings {
  /** Pixels. */
  width: number;
  /** Pixels. */
  height: number;
  /** kbit/s, average and peak (the VBV buffer is half a second of it). */
  kbps: number;
  /** Frames per second out (the GOP is one second of them). */
  fps: number;
}

export interface LowTierIngestDeps {
  /** A hold on the camera's main stream (CameraManager.acquire): keeps its one RTSP session running. */
  acquireMain(): Promise<CameraLease>;
  slots: LowTierSlots;
  ffmpegPath: string;
  settings: LowTierSettings;
  ledger?: Pick<ChildProcessLedger, 'add' | 'remove'>;
  /** Receives ffmpeg's stderr lines. */
  onLog?: (line: string) => void;
}

/** RTP payload type of the low tier's output. */
const PAYLOAD_TYPE = 102;
/** libx264 -profile:v baseline writes Constrained Baseline. */
const PROFILE_LEVEL_ID = '42e01f';

interface Run {
  ffmpeg?: ProducerFfmpeg;
  /** Settles when the ProducerFfmpeg of this run is started (or failed to start). */
  starting?: Promise<void>;
  unsubscribe?: () => void;
  flowing: boolean;
}

/**
 * The low tier of a camera without a substream: one server-side transcode of its main stream to a
 * small H.264 Constrained Baseline stream, fed from the main stream's own producer (ProducerFfmpeg),
 * never from a second RTSP session. An Ingest, so a CameraSession of its own runs it on demand.
 *
 * open() takes a slot of the node's LowTierSlots (IngestError 'busy' when none is free) and a lease
 * on the main stream (which starts it if needed); start() runs ffmpeg from the main feed's producer
 * into the target; stop() ends the run and gives back the lease and the slot. A run ends with
 * 'error' (reason 'exited') when ffmpeg dies or the main feed closes (the main camera restarted):
 * the owning session stops it and opens again, waiting for the main stream to be live.
 */
export class LowTierIngest extends TypedEmitter<IngestEvents> implements Ingest {
  readonly #deps: LowTierIngestDeps;
  readonly #ssrc = randomInt(1, 2 ** 31);
  #lease: CameraLease | undefined;
  #slotTaken = false;
  /** Bumped by stop(): an open() still waiting for the main stream gives up what it got. */
  #generation = 0;
  #run: Run | undefined;

  constructor(
    readonly cameraId: string,
    deps: LowTierIngestDeps,
  ) {
    super();
    this.#deps = deps;
  }

  /** ffmpeg's pid while a run has one. */
  get pid(): number | undefined {
    return this.#run?.ffmpeg?.pid;
  }

  /**
   * Takes a slot, then waits for the main stream (its lease). Throws IngestError 'busy' when the
   * node's low-tier limit is reached, or the main stream's failure ('timeout', 'not_found',
   * 'unreachable'); nothing is kept then.
   */
  async open(): Promise<IngestDescription> {
    const generation = this.#generation;
    if (!this.#slotTaken) {
      if (!this.#deps.slots.take()) throw new IngestError('busy', `the low-tier transcode limit (${this.#deps.slots.limit} per node) is reached`);
      this.#slotTaken = true;
    }
    if (!this.#lease) {
      let lease: CameraLease;
      try {
        lease = await this.#deps.acquireMain();
      } catch (error) {
        if (generation === this.#generation) this.#giveSlot();
        throw mainFailure(error);
      }
      if (generation !== this.#generation) {
        lease.release();
        throw new IngestError('exited', 'the low tier was stopped while waiting for the main stream');
      }
      this.#lease = lease;
    }
    const { width, height, fps } = this.#deps.settings;
    return {
      codec: h264Codec(PAYLOAD_TYPE, PROFILE_LEVEL_ID),
      ssrc: this.#ssrc,
      keyframeRequests: false,
      engine: 'ffmpeg',
      transcodeReason: 'low_tier',
      // What this ingest sends (at most: a source of another aspect is fitted inside).
      source: { codec: 'h264', width, height, fps, hasBFrames: false },
    };
  }

  /** Runs ffmpeg from the main feed's producer to `target`; 'flowing' on its first frame, 'error' once if the run ends. */
  start(target: RtpTarget): void {
    const lease = this.#lease;
    if (!lease) throw new Error('LowTierIngest.start() before open()');
    if (this.#run) throw new Error('LowTierIngest.start() while running');
    const run: Run = { flowing: false };
    this.#run = run;
    const feed = lease.feed;
    if (!feed || feed.closed) {
      queueMicrotask(() => this.#fail(run, new IngestError('exited', 'the main stream is down')));
      return;
    }
    run.unsubscribe = feed.onClose(() => this.#fail(run, new IngestError('exited', 'the main stream closed (its camera restarted or its media worker closed)')));
    run.starting = this.#startFfmpeg(run, feed, target).catch((error: unknown) => {
      this.#fail(run, new IngestError('spawn_failed', `low-tier transcoder: ${(error as Error).message}`));
    });
  }

  async #startFfmpeg(run: Run, feed: CameraFeed, target: RtpTarget): Promise<void> {
    const ffmpeg = await ProducerFfmpeg.start({
      router: feed.host.router,
      producer: feed.producer,
      ffmpegPath: this.#deps.ffmpegPath,
      outputArgs: lowTierOutputArgs(this.#deps.settings, target, this.#ssrc, PAYLOAD_TYPE),
      // Read when asked: the session sets it after creating the feed.
      requestKeyframe: () => feed.keyframeRequester?.(),
      ...(this.#deps.ledger && { ledger: this.#deps.ledger }),
      ...(this.#deps.onLog && { onLog: this.#deps.onLog }),
    });
    if (this.#run !== run) {
      await ffmpeg.close();
      return;
    }
    run.ffmpeg = ffmpeg;
    ffmpeg.on('progress', (progress) => {
      if (this.#run !== run) return;
      this.emit('progress', progress);
      if (!run.flowing && progress.frames > 0) {
        run.flowing = true;
        this.emit('flowing');
      }
    });
    ffmpeg.on('exit', (exit) => this.#fail(run, new IngestError('exited', `low-tier transcoder: ${exit.message}`)));
  }

  /** Ends the run (ffmpeg closed) and reports it; the lease and the slot are kept until stop(). */
  #fail(run: Run, error: IngestError): void {
    if (this.#run !== run) return;
    this.#run = undefined;
    void this.#endRun(run).then(() => this.emit('error', error));
  }

  async #endRun(run: Run): Promise<void> {
    run.unsubscribe?.();
    run.unsubscribe = undefined;
    await run.starting;
    await run.ffmpeg?.close();
  }

  /** Ends the run, releases the main stream's lease and gives the slot back; safe to call at any time, any number of times. */
  async stop(): Promise<void> {
    this.#generation++;
    const run = this.#run;
    this.#run = undefined;
    if (run) await this.#endRun(run);
    const lease = this.#lease;
    this.#lease = undefined;
    lease?.release();
    this.#giveSlot();
  }

  #giveSlot(): void {
    if (!this.#slotTaken) return;
    this.#slotTaken = false;
    this.#deps.slots.give();
  }
}

/**
 * ffmpeg's output half for the low tier: the frame rate, then a scale to fit `width` x `height`
 * (aspect kept, even sizes), then the encoder and RTP output every transcode of ours uses.
 */
export function lowTierOutputArgs(settings: LowTierSettings, target: RtpTarget, ssrc: number, payloadType: number): string[] {
  const { width, height, kbps } = settings;
  const fps = Math.max(1, Math.round(settings.fps));
  return [
    '-vf', `fps=${fps},scale=${width}:${height}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
    ...h264EncodeArgs(fps, kbps),
    ...rtpOutputArgs(target, ssrc, payloadType),
  ];
}

/** The main stream's failure (CameraManager.acquire's AppError) as an IngestError. */
function mainFailure(error: unknown): IngestError {
  if (error instanceof IngestError) return error;
  const message = `the main stream: ${(error as Error).message}`;
  if (!(error instanceof AppError)) return new IngestError('exited', message);
  const reasons: Partial<Record<string, IngestFailureReason>> = { camera_timeout: 'timeout', not_found: 'not_found' };
  return new IngestError(reasons[error.code] ?? 'unreachable', message);
}
