import type { ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { TypedEmitter } from './common/TypedEmitter.ts';
import { redact } from './common/redact.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import { classifyFfmpegError } from './classifyFfmpegError.ts';
import { buildFfmpegArgs, transcoderSdp } from './ffmpegArgs.ts';
import { readFfmpegProgress, readLines } from './ffmpegProgress.ts';
import { h264Codec, h264ProfileName, isHighProfile } from './h264.ts';
import { decodeSpropParameterSets, parseH264Sps, type H264Sps } from './h264Sps.ts';
import { cameraRtspClient, rtpPayload, toIngestError, trackSps } from './cameraSession.ts';
import type { RtspClient, RtspTrack } from './rtsp/RtspClient.ts';
import { rtcpPli, rtcpReceiverReport } from './relay/rtcp.ts';
import { sniffVideoCodec } from './sniffVideoCodec.ts';
import { signalGroup, spawnOwned, stopChild } from './spawnOwned.ts';
import { bindLoopback, freeLoopbackPortPair } from './freeLoopbackPortPair.ts';
import type { ChildProcessLedger } from './ChildProcessLedger.ts';

export interface FfmpegIngestOptions {
  camera: IngestSource;
  ffmpegPath: string;
  /** How a High-profile H.264 camera reaches browsers that accept only Baseline and Main. */
  highProfile: 'transcode' | 'relabel';
  /** Bit rate cap of transcoded output (kbit/s). */
  transcodeKbps: number;
  /** RTSP connect/answer timeout (ms). */
  timeoutMs: number;
  /** No RTP from the camera, or no frame out of ffmpeg once frames flowed, for this long ends the run with 'stalled' (ms). */
  stallTimeoutMs: number;
  /**
   * RTP arriving this long with no frame out of ffmpeg ends the run with 'codec_mismatch' (ms,
   * default 11,000: longer than a 10 s GOP). Keep it below the session's start timeout, so the camera
   * shows why instead of a timeout.
   */
  firstFrameTimeoutMs?: number;
  /**
   * Transcode even H.264 that could be copied. The auto engine sets it: the relay declined the
   * camera, and what it declines is never to be copied (the one reason not visible in the SDP is
   * B slices seen in the stream).
   */
  alwaysTranscode?: boolean;
  /** Receives every ffmpeg stderr line, credentials already removed. */
  onLog?: (line: string) => void;
  /** Told of every ffmpeg process started and ended (the server's ChildProcessLedger, or a worker's report to it). */
  ledger?: Pick<ChildProcessLedger, 'add' | 'remove'>;
}

const PAYLOAD_TYPE = 102;
/** Profile declared for transcoded output (libx264 -profile:v baseline gives Constrained Baseline). */
const TRANSCODED_PROFILE_LEVEL_ID = '42e01f';
/** Preference among a camera's video tracks: what we relay or decode best first (lower-case rtpmap names). */
const CODEC_PREFERENCE = ['h264', 'h265', 'jpeg', 'mp4v-es'];
/** Default firstFrameTimeoutMs: longer than a 10 s GOP (keyframe requests go out every second meanwhile). */
const FIRST_FRAME_TIMEOUT_MS = 11_000;
/** Lines of a run's decoder complaints that reach the log (a misnamed stream makes one per packet). */
const LOGGED_DECODE_ERRORS = 25;
/** ffmpeg has bound its input port this long after spawning (ms): keyframe requests wait for it. */
const SPAWN_SETTLE_MS = 300;
const DECODE_ERROR = /invalid data|error while decoding|could not find ref|non-existing pps|no frame|missing picture|pps id|sps id|error parsing nal|decode_slice|illegal|corrupt/i;

/**
 * The transcoder engine: one ffmpeg process per run, fed by our RTSP client. The client holds the
 * camera's only RTSP session; the chosen video track's RTP goes to ffmpeg on loopback UDP, described
 * by an SDP on ffmpeg's stdin, and ffmpeg sends H.264 (copied, or transcoded to Constrained Baseline)
 * as RTP to the camera's PlainTransport. So ffmpeg's command line holds neither the camera's URL nor
 * its credentials, every RTSP dialect our client speaks (Digest SHA-256, redirects, rtsps pinning)
 * works for transcoded cameras too, and the camera gets keyframe requests (PLI) until the first frame.
 *
 * An SDP naming the wrong codec: an H.264 SPS in a track the SDP calls H.265 (or the reverse) makes
 * the run restart ffmpeg with the codec the stream carries; a copy run cannot change what it
 * declared, so it ends with 'codec_mismatch' and the next open() describes the stream's own codec.
 * A stream that does not decode at all ends with 'codec_mismatch' too, never an endless start.
 */
export class FfmpegIngest extends TypedEmitter<IngestEvents> implements Ingest {
  readonly #options: FfmpegIngestOptions;
  readonly #secrets: string[];
  readonly #ssrc = randomInt(1, 2 ** 31);
  #client: RtspClient | undefined;
  #track: RtspTrack | undefined;
  #description: IngestDescription | undefined;
  /** The codec the stream turned out to carry when its SDP said another one (kept across runs). */
  #codecFromStream: 'h264' | 'h265' | undefined;
  #run: Run | undefined;
  /** The run started last (the current one, or the one being torn down). */
  #lastRun: Run | undefined;
  readonly stats = { packetsIn: 0, keyframeRequests: 0 };

  constructor(options: FfmpegIngestOptions) {
    super();
    this.#options = options;
    this.#secrets = [options.camera.password ?? ''].filter(Boolean);
  }

  get pid(): number | undefined {
    return this.#run?.child?.pid;
  }

  /**
   * DESCRIBE with our RTSP client: picks the video track (H.264 with the largest picture, else H.265,
   * MJPEG, MPEG-4) and says what will be sent. Throws IngestError with the RTSP failure, or
   * 'unsupported_codec' when the camera offers no video track.
   */
  async open(): Promise<IngestDescription> {
    await this.#closeClient();
    const client = cameraRtspClient(this.#options.camera, this.#options.timeoutMs);
    this.#client = client;
    try {
      const { tracks } = await client.describe();
      const track = chooseTrack(tracks);
      if (!track) throw new IngestError('unsupported_codec', 'the camera offers no video track');
      this.#track = track;
      this.#description = this.#describe(track);
      return this.#description;
    } catch (error) {
      await this.#closeClient();
      throw toIngestError(error);
    }
  }

  #codecOf(track: RtspTrack): string {
    return this.#codecFromStream ?? track.codec;
  }

  #describe(track: RtspTrack): IngestDescription {
    const codec = this.#codecOf(track);
    const sps = codec === 'h264' && track.codec === 'h264' ? trackSps(track) : undefined;
    const hasBFrames = (sps?.maxNumReorderFrames ?? 0) > 0;
    const fmtpProfile = track.media.fmtp['profile-level-id'];
    const sourceProfileLevelId = sps?.profileLevelId ?? (fmtpProfile && /^[0-9a-f]{6}$/i.test(fmtpProfile) ? fmtpProfile.toLowerCase() : undefined);
    let profileLevelId = sourceProfileLevelId ?? TRANSCODED_PROFILE_LEVEL_ID;
    let transcodeReason: IngestDescription['transcodeReason'];
    // A codec taken from the stream (the SDP named another) has no SDP parameters to trust: transcoded.
    if (codec !== 'h264' || this.#codecFromStream) transcodeReason = 'codec';
    else if (hasBFrames) transcodeReason = 'b_frames';
    else if ([110, 122, 244].includes(parseInt(profileLevelId.slice(0, 2), 16))) transcodeReason = 'high_profile';
    else if (isHighProfile(profileLevelId)) {
      if (this.#options.highProfile === 'transcode') transcodeReason = 'high_profile';
      // Relabelled: forwarded untouched under the Main profile id browsers accept.
      else profileLevelId = `4d00${profileLevelId.slice(4)}`;
    }
    // The relay declined this camera for a reason the SDP does not show: B slices in the stream.
    if (!transcodeReason && this.#options.alwaysTranscode) transcodeReason = 'b_frames';
    if (transcodeReason) profileLevelId = TRANSCODED_PROFILE_LEVEL_ID;
    return {
      codec: h264Codec(PAYLOAD_TYPE, profileLevelId),
      ssrc: this.#ssrc,
      engine: 'ffmpeg',
      ...(transcodeReason && { transcodeReason }),
      source: {
        codec: (codec || 'unknown').slice(0, 40),
        hasBFrames,
        ...(codec === 'h264' && sourceProfileLevelId && { profile: h264ProfileName(sourceProfileLevelId) }),
        ...(sps && { width: sps.width, height: sps.height }),
        ...(sps?.fps !== undefined && { fps: sps.fps }),
      },
    };
  }

  /**
   * SETUP and PLAY the chosen track, then run ffmpeg on it until stop() or a failure ('error' once,
   * with the reason).
   */
  start(target: RtpTarget): void {
    const client = this.#client;
    const track = this.#track;
    const description = this.#description;
    if (!client || !track || !description) throw new Error('FfmpegIngest.start() before open()');
    if (this.#run) throw new Error('FfmpegIngest.start() while running');
    const run: Run = { timers: [], frames: 0, lastFrameAt: 0, lastRtpAt: Date.now(), decodeErrors: 0, sniffed: false, spawns: 0, spawnedAt: 0, lastKeyframeRequestAt: 0 };
    this.#run = run;
    this.#lastRun = run;
    client.on('rtp', (_track, packet) => {
      if (this.#run !== run) return;
      run.lastRtpAt = Date.now();
      run.cameraSsrc = packet.readUInt32BE(8);
      run.cameraSequence = packet.readUInt16BE(2);
      this.stats.packetsIn++;
      if (!run.sniffed) this.#sniff(run, track, packet);
      if (run.input && run.sender) run.sender.send(packet, run.input.port, '127.0.0.1');
    });
    client.on('lost', (error) => this.#fail(run, toIngestError(error)));
    void (async () => {
      run.sender = await bindLoopback();
      if (this.#run !== run) return run.sender.close();
      await client.setup(track);
      await client.play();
      if (this.#run !== run) return;
      this.#spawn(run, target);
      const tick = () => {
        if (this.#run !== run) return;
        if (run.cameraSsrc !== undefined) {
          client.sendRtcp(track, rtcpReceiverReport(this.#ssrc, run.cameraSsrc, run.cameraSequence ?? 0));
          // Until the first frame, ask for a keyframe every second: a camera that honours PLI starts at once.
          if (run.frames === 0 && run.child && Date.now() - run.spawnedAt >= SPAWN_SETTLE_MS) this.requestKeyframe();
        }
        const now = Date.now();
        const { stallTimeoutMs } = this.#options;
        if (now - run.lastRtpAt > stallTimeoutMs) this.#fail(run, new IngestError('stalled', `no RTP from the camera for ${stallTimeoutMs} ms`));
        else if (run.frames > 0 && now - run.lastFrameAt > stallTimeoutMs) this.#fail(run, new IngestError('stalled', `no video out of the transcoder for ${stallTimeoutMs} ms`));
        else if (run.frames === 0 && run.child && now - run.spawnedAt > (this.#options.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS)) {
          const codec = this.#codecOf(track).toUpperCase() || 'the codec its SDP names';
          const seconds = (this.#options.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS) / 1000;
          this.#fail(run, new IngestError('codec_mismatch', `RTP arrives but does not decode as ${codec}: no frame in ${seconds} s (${run.decodeErrors} decoder errors)`));
        }
      };
      run.timers.push(setInterval(tick, 1000));
      run.timers.push(setTimeout(tick, SPAWN_SETTLE_MS + 100));
    })().catch((error: unknown) => this.#fail(run, toIngestError(error)));
  }

  /** Sends the camera a PLI (at most one per second); see Ingest.requestKeyframe. */
  requestKeyframe(): void {
    const run = this.#run;
    const client = this.#client;
    const track = this.#track;
    if (!run || !client || !track || run.cameraSsrc === undefined) return;
    const now = Date.now();
    if (now - run.lastKeyframeRequestAt < 1000) return;
    run.lastKeyframeRequestAt = now;
    this.stats.keyframeRequests++;
    client.sendRtcp(track, rtcpPli(this.#ssrc, run.cameraSsrc));
  }

  /** Looks at parameter sets until one says the codec; a codec other than the SDP's is taken from the stream. */
  #sniff(run: Run, track: RtspTrack, packet: Buffer): void {
    const found = sniffVideoCodec(rtpPayload(packet));
    if (!found) return;
    run.sniffed = true;
    if (found === this.#codecOf(track)) return;
    this.#codecFromStream = found;
    this.#options.onLog?.(`the camera's SDP says ${track.codec.toUpperCase()} but the stream is ${found.toUpperCase()}: taken from the stream`);
    if (this.#description?.transcodeReason) {
      // Transcoding either way: ffmpeg starts (again) with an SDP naming the stream's codec.
      if (!run.target) return;
      const old = run.child;
      run.child = undefined;
      run.decodeErrors = 0;
      if (old) signalGroup(old, 'SIGKILL');
      this.#spawn(run, run.target);
      return;
    }
    this.#fail(run, new IngestError('codec_mismatch', `the SDP says ${track.codec.toUpperCase()} but the stream is ${found.toUpperCase()}; the next run takes it from the stream`));
  }

  #spawn(run: Run, target: RtpTarget): void {
    const track = this.#track!;
    const description = this.#description!;
    run.target = target;
    const spawn = ++run.spawns;
    void (async () => {
      const port = await freeLoopbackPortPair();
      if (this.#run !== run || run.spawns !== spawn) return;
      const codec = this.#codecOf(track);
      const encoding = codec === track.codec ? (track.media.rtpmap?.encoding ?? codec.toUpperCase()) : codec.toUpperCase();
      const sdp = transcoderSdp({
        port,
        payloadType: track.payloadType,
        encoding,
        clockRate: track.clockRate || 90_000,
        // Another codec's parameters would only mislead the demuxer and decoder.
        fmtp: codec === track.codec ? track.media.fmtp : {},
      });
      const args = buildFfmpegArgs({
        mode: description.transcodeReason ? 'transcode' : 'copy',
        fps: description.source.fps ?? 25,
        transcodeKbps: this.#options.transcodeKbps,
        target,
        ssrc: description.ssrc,
        payloadType: description.codec.payloadType,
      });
      const child = spawnOwned(this.#options.ffmpegPath, args, ['pipe', 'pipe', 'pipe']);
      run.child = child;
      run.spawnedAt = Date.now();
      run.input = { port };
      if (child.pid !== undefined) this.#options.ledger?.add(child.pid, this.#options.ffmpegPath);
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(sdp);
      this.#watch(run, child);
    })().catch((error: unknown) => this.#fail(run, toIngestError(error)));
  }

  #watch(run: Run, child: ChildProcess): void {
    let lastReason: IngestError['reason'] | undefined;
    let lastLine = '';
    let failure: IngestError | undefined;
    child.once('error', (error) => {
      failure = new IngestError('spawn_failed', `ffmpeg: ${error.message}`);
    });
    if (child.stderr) {
      readLines(child.stderr, (raw) => {
        const line = redact(raw.trim(), this.#secrets);
        if (!line) return;
        lastLine = line;
        lastReason = classifyFfmpegError(line) ?? lastReason;
        if (run.child === child && DECODE_ERROR.test(line)) run.decodeErrors++;
        // A camera sending a stream the SDP misnames makes ffmpeg print a line per packet.
        if (run.decodeErrors <= LOGGED_DECODE_ERRORS) this.#options.onLog?.(line);
      });
    }
    let lastFrames = 0;
    if (child.stdout) {
      readFfmpegProgress(child.stdout, ({ frames, fps, kbps }) => {
        if (run.child === child && frames > lastFrames) {
          run.frames += frames - lastFrames;
          run.lastFrameAt = Date.now();
          lastFrames = frames;
        }
        this.emit('progress', { frames: run.frames, fps, kbps });
      });
    }
    child.once('close', (code, signal) => {
      if (child.pid !== undefined) this.#options.ledger?.remove(child.pid);
      if (run.child !== child) return;
      run.child = undefined;
      this.#fail(run, failure ?? new IngestError(lastReason ?? 'exited', lastLine || `ffmpeg exited (${signal ?? `code ${code}`})`));
    });
  }

  #fail(run: Run, error: IngestError): void {
    if (this.#run !== run) return;
    // Reported unless a newer run started while this one was being torn down (its error is stale).
    void this.stop().then(() => this.#lastRun === run && this.emit('error', error));
  }

  /** Ends the run: ffmpeg stopped, the camera's session torn down. */
  async stop(): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    // Taken now: a later open() may create the next run's client while ffmpeg is still exiting.
    const client = this.#client;
    this.#client = undefined;
    const child = run?.child;
    if (run) {
      for (const timer of run.timers) clearTimeout(timer);
      run.child = undefined;
      run.input = undefined;
      run.sender?.close();
    }
    await Promise.all([child && stopChild(child), client?.close()]);
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}

interface Run {
  timers: NodeJS.Timeout[];
  child?: ChildProcess;
  /** Where ffmpeg listens for the camera's RTP. */
  input?: { port: number };
  sender?: dgram.Socket;
  target?: RtpTarget;
  /** Frames out of ffmpeg in this run (over its restarts). */
  frames: number;
  lastFrameAt: number;
  lastRtpAt: number;
  cameraSsrc?: number;
  cameraSequence?: number;
  decodeErrors: number;
  /** A parameter set told the stream's codec. */
  sniffed: boolean;
  /** ffmpeg processes started in this run (a restart supersedes one still being set up). */
  spawns: number;
  spawnedAt: number;
  lastKeyframeRequestAt: number;
}

function chooseTrack(tracks: RtspTrack[]): RtspTrack | undefined {
  const video = tracks.filter((track) => track.media.type === 'video');
  const rank = (track: RtspTrack) => {
    const at = CODEC_PREFERENCE.indexOf(track.codec);
    return at < 0 ? CODEC_PREFERENCE.length : at;
  };
  const area = (track: RtspTrack) => {
    const sps = track.codec === 'h264' ? trackSps(track) : undefined;
    return sps ? sps.width * sps.height : 0;
  };
  return [...video].sort((a, b) => rank(a) - rank(b) || area(b) - area(a))[0];
}
