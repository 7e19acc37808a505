import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { TypedEmitter } from './common/TypedEmitter.ts';
import { redact } from './common/redact.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import { classifyFfmpegError } from './classifyFfmpegError.ts';
import { buildFfmpegArgs, withCredentials } from './ffmpegArgs.ts';
import { h264Codec, isHighProfile } from './h264.ts';
import { probeCamera, type CameraStreamInfo } from './probeCamera.ts';
import { signalGroup, spawnOwned, stopChild } from './spawnOwned.ts';
import type { ChildProcessLedger } from './ChildProcessLedger.ts';

export interface FfmpegIngestOptions {
  camera: IngestSource;
  ffmpegPath: string;
  /** How a High-profile H.264 camera reaches browsers that accept only Baseline and Main. */
  highProfile: 'transcode' | 'relabel';
  /** Bit rate cap of transcoded output (kbit/s). */
  transcodeKbps: number;
  /** RTSP I/O timeout, and the probe's overall bound. */
  timeoutMs: number;
  /** A run whose frame count stops advancing this long ends with reason 'stalled'. */
  stallTimeoutMs: number;
  /** Receives every ffmpeg stderr line, credentials already removed. */
  onLog?: (line: string) => void;
  ledger?: ChildProcessLedger;
}

const PAYLOAD_TYPE = 102;
/** Profile declared for transcoded output (libx264 -profile:v baseline gives Constrained Baseline). */
const TRANSCODED_PROFILE_LEVEL_ID = '42e01f';

/** Ingest through one ffmpeg process per run: RTSP in, RTP out, H.264 copied when it can be. */
export class FfmpegIngest extends TypedEmitter<IngestEvents> implements Ingest {
  readonly #options: FfmpegIngestOptions;
  readonly #secrets: string[];
  #streamInfo: CameraStreamInfo | undefined;
  #description: IngestDescription | undefined;
  #child: ChildProcess | undefined;
  #stopping = false;
  #stallTimer: NodeJS.Timeout | undefined;
  #lastFrames = -1;

  constructor(options: FfmpegIngestOptions) {
    super();
    this.#options = options;
    this.#secrets = [options.camera.password ?? ''];
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async open(): Promise<IngestDescription> {
    const { camera } = this.#options;
    // The probe result is kept across restarts; a failed run forgets it so the next one looks again.
    this.#streamInfo ??= await probeCamera({
      ffprobePath: ffprobeBeside(this.#options.ffmpegPath),
      url: withCredentials(camera.url, camera.username, camera.password),
      transport: camera.transport,
      timeoutMs: this.#options.timeoutMs,
      secrets: this.#secrets,
      ...(this.#options.onLog && { onLog: this.#options.onLog }),
    });
    this.#description = describe(this.#streamInfo, this.#options.highProfile);
    return this.#description;
  }

  start(target: RtpTarget): void {
    const description = this.#description;
    if (!description) throw new Error('FfmpegIngest.start() before open()');
    if (this.#child) throw new Error('FfmpegIngest.start() while running');
    const { camera } = this.#options;
    const args = buildFfmpegArgs({
      url: withCredentials(camera.url, camera.username, camera.password),
      transport: camera.transport,
      timeoutMs: this.#options.timeoutMs,
      mode: description.transcodeReason ? 'transcode' : 'copy',
      fps: description.source.fps ?? 25,
      transcodeKbps: this.#options.transcodeKbps,
      target,
      ssrc: description.ssrc,
      payloadType: description.codec.payloadType,
    });
    this.#stopping = false;
    this.#lastFrames = -1;
    const child = spawnOwned(this.#options.ffmpegPath, args);
    this.#child = child;
    if (child.pid !== undefined) this.#options.ledger?.add(child.pid, this.#options.ffmpegPath);
    let lastReason: IngestError['reason'] | undefined;
    let lastLine = '';
    let failure: IngestError | undefined;
    child.once('error', (error) => {
      failure = new IngestError('spawn_failed', `ffmpeg: ${error.message}`);
    });
    child.stderr?.setEncoding('utf8');
    let stderrBuffer = '';
    child.stderr?.on('data', (chunk: string) => {
      stderrBuffer += chunk;
      const lines = stderrBuffer.split('\n');
      stderrBuffer = lines.pop() ?? '';
      for (const raw of lines) {
        const line = redact(raw.trim(), this.#secrets);
        if (!line) continue;
        lastLine = line;
        lastReason = classifyFfmpegError(line) ?? lastReason;
        this.#options.onLog?.(line);
      }
    });
    child.stdout?.setEncoding('utf8');
    let progress: Record<string, string> = {};
    let stdoutBuffer = '';
    child.stdout?.on('data', (chunk: string) => {
      stdoutBuffer += chunk;
      const lines = stdoutBuffer.split('\n');
      stdoutBuffer = lines.pop() ?? '';
      for (const line of lines) {
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        const key = line.slice(0, eq).trim();
        progress[key] = line.slice(eq + 1).trim();
        if (key === 'progress') {
          this.#onProgress(progress);
          progress = {};
        }
      }
    });
    this.#armStallTimer();
    child.once('close', (code, signal) => {
      this.#clearStallTimer();
      if (child.pid !== undefined) this.#options.ledger?.remove(child.pid);
      if (this.#child === child) this.#child = undefined;
      if (this.#stopping) return;
      this.#streamInfo = undefined;
      const error =
        failure ??
        this.#stallError ??
        new IngestError(lastReason ?? 'exited', lastLine || `ffmpeg exited (${signal ?? `code ${code}`})`);
      this.#stallError = undefined;
      this.emit('error', error);
    });
  }

  #stallError: IngestError | undefined;

  #onProgress(values: Record<string, string>): void {
    const frames = Number(values.frame ?? 0);
    if (frames > this.#lastFrames) {
      this.#lastFrames = frames;
      this.#armStallTimer();
    }
    const kbps = Number.parseFloat(values.bitrate ?? '');
    this.emit('progress', {
      frames,
      fps: Number.parseFloat(values.fps ?? '') || 0,
      kbps: Number.isFinite(kbps) ? kbps : 0,
    });
  }

  #armStallTimer(): void {
    this.#clearStallTimer();
    this.#stallTimer = setTimeout(() => {
      const child = this.#child;
      if (!child || this.#stopping) return;
      this.#stallError = new IngestError('stalled', `no video from the camera for ${this.#options.stallTimeoutMs} ms`);
      signalGroup(child, 'SIGKILL');
    }, this.#options.stallTimeoutMs);
  }

  #clearStallTimer(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#clearStallTimer();
    const child = this.#child;
    if (child) await stopChild(child);
    this.#child = undefined;
  }
}

function describe(info: CameraStreamInfo, highProfile: 'transcode' | 'relabel'): IngestDescription {
  let transcodeReason: IngestDescription['transcodeReason'];
  let profileLevelId = info.profileLevelId ?? TRANSCODED_PROFILE_LEVEL_ID;
  if (info.codec !== 'h264') transcodeReason = 'codec';
  else if (info.hasBFrames) transcodeReason = 'b_frames';
  else if (isHighProfile(profileLevelId)) {
    if (highProfile === 'transcode') transcodeReason = 'high_profile';
    // Relabelled: forwarded untouched under the Main profile id browsers accept.
    else profileLevelId = `4d00${profileLevelId.slice(4)}`;
  }
  if (transcodeReason) profileLevelId = TRANSCODED_PROFILE_LEVEL_ID;
  return {
    codec: h264Codec(PAYLOAD_TYPE, profileLevelId),
    ssrc: randomInt(1, 2 ** 31),
    engine: 'ffmpeg',
    ...(transcodeReason && { transcodeReason }),
    source: {
      codec: info.codec,
      hasBFrames: info.hasBFrames,
      ...(info.profile !== undefined && { profile: info.profile }),
      ...(info.width !== undefined && { width: info.width }),
      ...(info.height !== undefined && { height: info.height }),
      ...(info.fps !== undefined && { fps: info.fps }),
    },
  };
}

function ffprobeBeside(ffmpegPath: string): string {
  if (!ffmpegPath.includes('/')) return 'ffprobe';
  const candidate = join(dirname(ffmpegPath), 'ffprobe');
  return existsSync(candidate) ? candidate : 'ffprobe';
}
