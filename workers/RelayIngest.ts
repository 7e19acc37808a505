import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { TypedEmitter } from './common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestSource, RtpTarget } from './Ingest.ts';
import { IngestError } from './IngestError.ts';
import { cameraRtspClient, rtpPayload, toIngestError, trackSps } from './cameraSession.ts';
import { decodeSpropParameterSets, parseH264Sps, type H264Sps } from './h264Sps.ts';
import { h264Codec } from './h264.ts';
import type { RtspClient, RtspTrack } from './rtsp/RtspClient.ts';
import { H264RtpRewriter } from './relay/H264RtpRewriter.ts';
import { rtcpKeyframeRequests, rtcpPli, rtcpReceiverReport, rtcpSenderReport } from './relay/rtcp.ts';
import { h264SliceType, isBSlice } from './relay/sliceType.ts';
import { RtpReceptionStats } from './relay/RtpReceptionStats.ts';
import { RtpBatchSender, type RtpSendCounters } from './relay/RtpBatchSender.ts';
import { udpBatchAddon, type UdpBatchAddon } from './relay/native/udpBatch.ts';
import { NativeRelay, RELAY_EVENT, addressBytes, type NativeRelayStats } from './relay/native/NativeRelay.ts';
import type { ExternalRtpPort } from './rtsp/UdpPortPair.ts';
import { sniffVideoCodec } from './sniffVideoCodec.ts';

export interface RelayIngestOptions {
  camera: IngestSource;
  /** RTSP connect/answer timeout (ms). */
  timeoutMs: number;
  /** No RTP from the camera for this long ends the run with reason 'stalled' (ms). */
  stallTimeoutMs: number;
  /** High profile (profile_idc 100): forwarded labelled Main, or refused so the transcoder takes it. */
  highProfile: 'transcode' | 'relabel';
  /** Batched sending through the udp_batch addon when it is built (config ingest.relayNative); default true. */
  nativeSending?: boolean;
  onLog?: (line: string) => void;
}

const PAYLOAD_TYPE = 102;
/** At most one keyframe request to the camera per this many ms. */
const KEYFRAME_REQUEST_GAP_MS = 1000;

/** Profiles browsers may not decode (High 10, High 4:2:2, High 4:4:4): always transcoded, never relabelled. */
const UNRELAYABLE_PROFILES = new Set([110, 122, 244]);

/**
 * The packet relay (issue 19): the camera's H.264 RTP, received by our RTSP client, goes to the
 * camera's mediasoup PlainTransport without being re-assembled into frames. Only SSRC, payload type,
 * sequence numbers and timestamps are rewritten (H264RtpRewriter), and SPS/PPS are inserted before an
 * IDR that arrives without them. RTCP: sender reports go to mediasoup from the RTCP socket (so a
 * comedia transport learns where to send feedback), a viewer's PLI/FIR reaches the camera as a PLI
 * (at most one per second), and receiver reports go to the camera.
 *
 * open() describes the camera (DESCRIBE; the H.264 track with the largest picture); start() sets it
 * up and plays; stop() TEARDOWNs. A stopped relay can be opened again: sequence numbers and
 * timestamps continue across runs, so a feed that outlives a reconnect never sees time go back.
 */
export class RelayIngest extends TypedEmitter<IngestEvents> implements Ingest {
  readonly #options: RelayIngestOptions;
  readonly #ssrc = randomInt(1, 2 ** 31);
  #rewriter: H264RtpRewriter | undefined;
  #client: RtspClient | undefined;
  #track: RtspTrack | undefined;
  #description: IngestDescription | undefined;
  #run: Run | undefined;
  /** The run started last (the current one, or the one being torn down). */
  #lastRun: Run | undefined;
  /** Source ports kept for the ingest's life: a comedia transport stays locked to the first ones it saw. */
  #sockets: Promise<Sockets> | undefined;
  #stopping = false;
  #cameraSsrc: number | undefined;
  #lastCameraSequence = 0;
  /** B slices were seen in the stream (an SPS without VUI says nothing): the transcoder takes the camera. */
  #bFramesSeen = false;
  /** H.265 parameter sets arrived in the track the SDP called H.264: the transcoder takes the camera. */
  #h265Seen = false;
  /** A keyframe request went to the camera since its last keyframe arrived. */
  #requestSinceKeyframe = false;
  #lastRtpAt = 0;
  #lastKeyframeRequestAt = 0;
  #keyframeTimer: NodeJS.Timeout | undefined;
  /** What went to mediasoup (the newest RTP timestamp for the sender reports) and to the camera, over the ingest's life (both paths; see #refreshStats). */
  readonly stats = { packetsOut: 0, bytesOut: 0, keyframeRequests: 0, frames: 0, lastTimestamp: 0 };
  /** What the JavaScript path sent (RtpBatchSender's counters). */
  readonly #jsSent: RtpSendCounters = { packetsOut: 0, bytesOut: 0, frames: 0, lastTimestamp: 0 };
  /**
   * The native path (relay_loop.c) for cameras pulled over UDP, when the addon is built: their RTP
   * never enters JavaScript. Created at the first such run, kept (its rewriter state continues
   * across runs like #rewriter's), destroyed by close().
   */
  #native: NativeRelay | undefined;
  /** The ExternalRtpPort whose socket the native relay holds now (an older client's close must not unbind a newer one's). */
  #nativePortOwner: ExternalRtpPort | undefined;
  #nativePortGeneration = 0;
  #nativeUnavailable = false;
  /** The path of the last run that got under way: a run on the other one continues its output. */
  #lastPath: 'native' | 'javascript' | undefined;
  #nativeSpsVersion = 0;
  #nativeSps: H264Sps | undefined;
  /** The camera's RTP as received on the JavaScript path (packets, bytes, loss, jitter), over the ingest's life; the native path counts its own (nativeStats). */
  readonly reception = new RtpReceptionStats();

  constructor(options: RelayIngestOptions) {
    super();
    this.#options = options;
  }

  readonly continuesAcrossRuns = true;

  /**
   * Which path carries the current run's packets once it is under way: 'native' (relay_loop.c, a
   * camera over UDP with the addon built) or 'javascript' (TCP interleaved, or no addon).
   */
  get receivePath(): 'native' | 'javascript' | undefined {
    const run = this.#run;
    if (!run?.sockets) return undefined;
    return run.native ? 'native' : 'javascript';
  }

  /** The native relay's counters: defined once a run of a UDP camera started with the addon, even if that run ended on TCP (461). */
  get nativeStats(): NativeRelayStats | undefined {
    return this.#native?.stats();
  }

  /** A relay has no process of its own. */
  get pid(): number | undefined {
    return undefined;
  }

  /**
   * DESCRIBE: picks the H.264 video track with the largest picture (by its SPS) and says what will
   * be sent. Throws IngestError: 'unsupported_codec' when there is no H.264 track or it cannot be
   * relayed (B-frames, High 10/4:2:2/4:4:4, High when configured to transcode), or the RTSP failure.
   */
  async open(): Promise<IngestDescription> {
    await this.#closeClient();
    const { camera } = this.#options;
    const client = cameraRtspClient(camera, this.#options.timeoutMs);
    this.#client = client;
    try {
      const description = await client.describe();
      const candidates = description.tracks
        .filter((track) => track.media.type === 'video' && track.codec === 'h264')
        .map((track) => ({ track, sps: trackSps(track) }))
        .sort((a, b) => (b.sps ? b.sps.width * b.sps.height : 0) - (a.sps ? a.sps.width * a.sps.height : 0));
      const chosen = candidates[0];
      if (!chosen) {
        const codecs = description.tracks.filter((t) => t.media.type === 'video').map((t) => t.codec || 'unknown');
        throw new IngestError('unsupported_codec', `no H.264 video track to relay (video: ${codecs.join(', ') || 'none'})`);
      }
      this.#track = chosen.track;
      this.#description = this.#describe(chosen.track, chosen.sps);
      return this.#description;
    } catch (error) {
      await this.#closeClient();
      throw toIngestError(error);
    }
  }

  #describe(track: RtspTrack, sps: H264Sps | undefined): IngestDescription {
    const fmtpProfile = track.media.fmtp['profile-level-id'];
    let profileLevelId = sps?.profileLevelId ?? (fmtpProfile && /^[0-9a-f]{6}$/i.test(fmtpProfile) ? fmtpProfile.toLowerCase() : '42e01f');
    const profileIdc = parseInt(profileLevelId.slice(0, 2), 16);
    if (this.#h265Seen) throw new IngestError('unsupported_codec', 'the SDP says H.264 but the stream is H.265: it needs the transcoder');
    if ((sps?.maxNumReorderFrames ?? 0) > 0 || this.#bFramesSeen) throw new IngestError('unsupported_codec', 'the camera sends B-frames: it needs the transcoder');
    if (UNRELAYABLE_PROFILES.has(profileIdc)) throw new IngestError('unsupported_codec', `H.264 profile_idc ${profileIdc} is not decoded by browsers: it needs the transcoder`);
    if (profileIdc >= 100) {
      if (this.#options.highProfile === 'transcode') throw new IngestError('unsupported_codec', 'High profile, configured to transcode');
      // Relabelled: forwarded untouched under the Main profile id browsers accept.
      profileLevelId = `4d00${profileLevelId.slice(4)}`;
    }
    return {
      codec: h264Codec(PAYLOAD_TYPE, profileLevelId),
      ssrc: this.#ssrc,
      keyframeRequests: true,
      engine: 'relay',
      source: {
        codec: 'h264',
        hasBFrames: false,
        ...(sps && { width: sps.width, height: sps.height }),
        ...(sps?.fps !== undefined && { fps: sps.fps }),
      },
    };
  }

  /**
   * SETUP and PLAY, then relays until stop() or a failure ('error' with the reason). The UDP source
   * ports are the same for every run of this ingest, so a feed kept across a camera reconnect keeps
   * receiving from where its comedia transport expects.
   */
  start(target: RtpTarget): void {
    const client = this.#client;
    const track = this.#track;
    const description = this.#description;
    if (!client || !track || !description) throw new Error('RelayIngest.start() before open()');
    if (this.#run) throw new Error('RelayIngest.start() while running');
    this.#stopping = false;
    const run: Run = { timers: [], flowing: false, sniffed: false };
    this.#run = run;
    this.#lastRun = run;
    const sprop = decodeSpropParameterSets(track.media.fmtp['sprop-parameter-sets'] ?? '');
    const sps = sprop.find((nal) => ((nal[0] ?? 0) & 0x1f) === 7);
    const pps = sprop.find((nal) => ((nal[0] ?? 0) & 0x1f) === 8);
    if (this.#rewriter) this.#rewriter.restart();
    else this.#rewriter = new H264RtpRewriter({ ssrc: this.#ssrc, payloadType: PAYLOAD_TYPE, ...(sps && pps && { parameterSets: { sps, pps } }) });
    const rewriter = this.#rewriter;
    this.#cameraSsrc = undefined;
    this.#lastRtpAt = Date.now();
    this.reception.restart();
    const native = this.#nativeFor(sps && pps ? { sps, pps } : undefined);
    native?.restart();
    native?.setOutput(-1);
    native?.inspect(true);
    const externalRtp = native && this.#externalRtpPort(native);

    client.on('rtp', (_track, packet) => {
      const sockets = run.sockets;
      if (this.#run !== run || !sockets) return;
      this.#lastRtpAt = Date.now();
      this.reception.push(packet, this.#lastRtpAt);
      this.#cameraSsrc = packet.readUInt32BE(8);
      this.#lastCameraSequence = packet.readUInt16BE(2);
      if (!run.sniffed) {
        const codec = sniffVideoCodec(rtpPayload(packet));
        if (codec) run.sniffed = true;
        if (codec === 'h265') {
          // Waiting for an H.264 keyframe that never comes would be an endless start.
          this.#h265Seen = true;
          this.#fail(new IngestError('unsupported_codec', 'the SDP says H.264 but the stream is H.265: the camera needs the transcoder'));
          return;
        }
      }
      if (isBSlice(h264SliceType(packet, rtpPayloadOffset(packet)))) {
        // Browsers' WebRTC decoders expect no B-frames: hand the camera to the transcoder (a new feed).
        this.#bFramesSeen = true;
        this.#fail(new IngestError('unsupported_codec', 'B-frames in the stream (B slices): the camera needs the transcoder'));
        return;
      }
      const keyframes = rewriter.stats.keyframes;
      // Sent after this turn of the event loop, with the camera's other packets of the turn.
      if (rewriter.forward(packet, sockets.sender) > 0 && !run.flowing) {
        run.flowing = true;
        this.emit('flowing');
      }
      if (rewriter.stats.keyframes !== keyframes) this.#keyframeArrived();
      if (rewriter.waitingForKeyframe) this.#requestKeyframe(client, track);
    });
    client.on('lost', (error) => this.#fail(toIngestError(error)));

    void (async () => {
      this.#sockets ??= openSockets(
        (packet) => {
          // A viewer's PLI or FIR, through mediasoup: ask the camera for a keyframe.
          if (this.#run && this.#client && this.#track && rtcpKeyframeRequests(packet) > 0) this.#requestKeyframe(this.#client, this.#track);
        },
        this.#jsSent,
        this.#options.nativeSending !== false,
        this.#options.onLog,
      );
      const sockets = await this.#sockets;
      if (this.#run !== run) return;
      const agreed = await client.setup(track, undefined, externalRtp ? { externalRtp } : {});
      await client.play();
      if (this.#run !== run) return;
      await connectTo(sockets, target);
      if (this.#run !== run) return;
      run.native = agreed.kind === 'udp' && native !== undefined && this.#nativePortOwner === externalRtp;
      this.#continueAcrossPaths(run.native ? 'native' : 'javascript', rewriter);
      if (run.native) run.keyframesAtStart = native!.stats().keyframes;
      run.sockets = sockets;
      // From here the native path takes the camera's packets (it ignored them while it had no output).
      if (run.native && sockets.fd !== undefined) native!.setOutput(sockets.fd);
      // A comedia PlainTransport learns where RTCP goes from the first RTCP it receives.
      const sendReport = (nativeStats: NativeRelayStats | undefined) => {
        sockets.rtcp.send(rtcpSenderReport(this.#ssrc, this.stats.lastTimestamp, this.stats.packetsOut, this.stats.bytesOut));
        if (nativeStats?.cameraSsrc !== undefined) client.sendRtcp(track, rtcpReceiverReport(this.#ssrc, nativeStats.cameraSsrc, nativeStats.cameraSequence));
        else if (!run.native && this.#cameraSsrc !== undefined) client.sendRtcp(track, rtcpReceiverReport(this.#ssrc, this.#cameraSsrc, this.#lastCameraSequence));
      };
      sendReport(this.#refreshStats(run));
      let frames = this.stats.frames;
      let bytes = this.stats.bytesOut;
      // One timer a second per camera: the stall check, the RTCP reports, the progress report.
      run.timers.push(
        setInterval(() => {
          const nativeStats = this.#refreshStats(run);
          const lastRtpAt = Math.max(this.#lastRtpAt, nativeStats?.lastRtpAt ?? 0);
          if (Date.now() - lastRtpAt > this.#options.stallTimeoutMs) {
            this.#fail(new IngestError('stalled', `no RTP from the camera for ${this.#options.stallTimeoutMs} ms`));
            return;
          }
          sendReport(nativeStats);
          const { keyframeIntervalMs, lastKeyframeAt } = nativeStats ?? rewriter.stats;
          const sps = nativeStats ? this.#nativeParsedSps(nativeStats.spsVersion) : rewriter.parsedSps;
          // Both paths' counts over the ingest's life (a camera may alternate: UDP refused, then accepted); the jitter is the current run's.
          const nativeReception = (nativeStats ?? this.#native?.stats())?.reception;
          this.emit('progress', {
            ...(sps && { width: sps.width, height: sps.height }),
            frames: this.stats.frames,
            fps: this.stats.frames - frames,
            kbps: Math.round(((this.stats.bytesOut - bytes) * 8) / 1000),
            // A wall clock stepped back must not make an interval negative.
            ...(keyframeIntervalMs !== undefined && { keyframeIntervalMs: Math.max(0, keyframeIntervalMs) }),
            packets: this.reception.packets + (nativeReception?.packets ?? 0),
            bytes: this.reception.bytes + (nativeReception?.bytes ?? 0),
            lost: this.reception.lost + (nativeReception?.lost ?? 0),
            jitterMs: Math.round((nativeStats ? nativeStats.reception.jitterMs : this.reception.jitterMs) * 100) / 100,
            ...(lastKeyframeAt !== undefined && { keyframeAgeMs: Math.max(0, Date.now() - lastKeyframeAt) }),
          });
          frames = this.stats.frames;
          bytes = this.stats.bytesOut;
        }, 1000),
      );
    })().catch((error: unknown) => {
      // A run already replaced by a newer one fails alone, without touching the newer one.
      if (this.#run === run) this.#fail(toIngestError(error));
    });
  }

  /**
   * The JavaScript rewriter and the native one each keep their own output state. When a run goes
   * to the other path than the last one (a camera answering a UDP SETUP with 461 once, then not),
   * the new path continues the old one's sequence numbers and timestamps, and the sender reports'
   * timestamp, so mediasoup never sees the feed jump back.
   */
  #continueAcrossPaths(path: 'native' | 'javascript', rewriter: H264RtpRewriter): void {
    const previous = this.#lastPath;
    this.#lastPath = path;
    if (previous === undefined || previous === path || !this.#native) return;
    if (path === 'native') {
      const last = rewriter.lastOutput;
      if (last) this.#native.continueFrom(last, this.#jsSent.lastTimestamp);
    } else {
      const stats = this.#native.stats();
      if (stats.lastOutput) rewriter.continueFrom(stats.lastOutput);
      this.#jsSent.lastTimestamp = stats.sent.lastTimestamp;
    }
  }

  /** The native relay for a run over UDP, when batched sending is on and the addon is built; created once. */
  #nativeFor(parameterSets: { sps: Buffer; pps: Buffer } | undefined): NativeRelay | undefined {
    if (this.#native) return this.#native;
    if (this.#options.nativeSending === false || this.#nativeUnavailable || this.#options.camera.transport !== 'udp') return undefined;
    const addon: UdpBatchAddon | undefined = udpBatchAddon(this.#options.onLog);
    if (!addon) return undefined;
    try {
      this.#native = new NativeRelay(addon, { ssrc: this.#ssrc, payloadType: PAYLOAD_TYPE, ...(parameterSets && { parameterSets }) }, (flags, packet) =>
        this.#onNativeEvent(flags, packet),
      );
    } catch (error) {
      // The addon loaded but its loop could not start (relayInit failed): this camera relays in JavaScript.
      this.#options.onLog?.(`relay: native path unavailable (${(error as Error).message}): relaying in JavaScript`);
      this.#nativeUnavailable = true;
      return undefined;
    }
    return this.#native;
  }

  /**
   * The RTP port of one run's SETUP, bound by the native relay. Closing it unbinds only if it is
   * still the one bound, and once a newer run made its own, this one binds no more (an old run's
   * SETUP still retrying must not take the socket from the new run).
   */
  #externalRtpPort(native: NativeRelay): ExternalRtpPort {
    const generation = ++this.#nativePortGeneration;
    const port: ExternalRtpPort = {
      bind: (number, family, remoteAddress) => {
        if (generation !== this.#nativePortGeneration) throw new IngestError('exited', 'the run was replaced by a newer one');
        const bound = native.bind(family, number, addressBytes(remoteAddress));
        this.#nativePortOwner = bound === undefined ? undefined : port;
        return bound;
      },
      close: () => {
        if (this.#nativePortOwner !== port) return;
        this.#nativePortOwner = undefined;
        native.unbind();
      },
    };
    return port;
  }

  /** What relay_loop.c says changed for the camera (the JavaScript 'rtp' handler's decisions, per wakeup). */
  #onNativeEvent(flags: number, packet: Buffer | undefined): void {
    const run = this.#run;
    const client = this.#client;
    const track = this.#track;
    if (!run?.native || !run.sockets || !client || !track) return;
    if (packet && !run.sniffed) {
      const codec = sniffVideoCodec(rtpPayload(packet));
      if (codec) {
        run.sniffed = true;
        this.#native?.inspect(false);
      }
      if (codec === 'h265') {
        this.#h265Seen = true;
        this.#fail(new IngestError('unsupported_codec', 'the SDP says H.264 but the stream is H.265: the camera needs the transcoder'));
        return;
      }
    }
    if (flags & RELAY_EVENT.bSlice) {
      this.#bFramesSeen = true;
      this.#fail(new IngestError('unsupported_codec', 'B-frames in the stream (B slices): the camera needs the transcoder'));
      return;
    }
    if (flags & RELAY_EVENT.wrote && !run.flowing) {
      run.flowing = true;
      this.emit('flowing');
    }
    if (flags & RELAY_EVENT.keyframe) {
      this.#keyframeArrived();
      // Two H.264 keyframes in this run and no in-band SPS (it is only in the SDP): nothing left to sniff.
      if (!run.sniffed && (this.#native?.stats().keyframes ?? 0) - (run.keyframesAtStart ?? 0) >= 2) {
        run.sniffed = true;
        this.#native?.inspect(false);
      }
    }
    if (flags & RELAY_EVENT.waiting) this.#requestKeyframe(client, track);
  }

  /** Brings `stats` up to date with what both paths sent; the native relay's counters when the run is native. */
  #refreshStats(run: Run): NativeRelayStats | undefined {
    const native = run.native ? this.#native?.stats() : undefined;
    // A run over TCP after native ones: their packets count too.
    const nativeSent = (native ?? this.#native?.stats())?.sent;
    this.stats.packetsOut = this.#jsSent.packetsOut + (nativeSent?.packets ?? 0);
    this.stats.bytesOut = this.#jsSent.bytesOut + (nativeSent?.bytes ?? 0);
    this.stats.frames = this.#jsSent.frames + (nativeSent?.frames ?? 0);
    this.stats.lastTimestamp = native ? native.sent.lastTimestamp : this.#jsSent.lastTimestamp;
    return native;
  }

  /** The native relay's SPS, parsed again when it changed. */
  #nativeParsedSps(version: number): H264Sps | undefined {
    if (version !== this.#nativeSpsVersion) {
      this.#nativeSpsVersion = version;
      const nal = this.#native?.sps();
      try {
        this.#nativeSps = nal ? parseH264Sps(nal) : undefined;
      } catch {
        this.#nativeSps = undefined;
      }
    }
    return this.#nativeSps;
  }

  /**
   * A keyframe arrived: it answers every request made before it, so a request still waiting out the
   * gap is dropped, and the next one (a viewer who came after this keyframe) goes at once. Otherwise
   * a viewer arriving just after the relay's own start-up request waited up to a second for its
   * keyframe.
   */
  #keyframeArrived(): void {
    if (this.#keyframeTimer) clearTimeout(this.#keyframeTimer);
    this.#keyframeTimer = undefined;
    // Only an answer to our request opens the gap again: the camera's own periodic keyframes do not,
    // so requests still reach it at most once per second plus once per answered request.
    if (this.#requestSinceKeyframe) this.#lastKeyframeRequestAt = 0;
    this.#requestSinceKeyframe = false;
  }

  /** Sends a PLI to the camera now, or once the one-per-second gap has passed (requests in between coalesce). */
  #requestKeyframe(client: RtspClient, track: RtspTrack): void {
    const run = this.#run;
    if (!run || this.#keyframeTimer) return;
    const wait = this.#lastKeyframeRequestAt + KEYFRAME_REQUEST_GAP_MS - Date.now();
    const send = () => {
      this.#keyframeTimer = undefined;
      // The camera's SSRC: on the native path only relay_loop.c has seen its packets.
      const cameraSsrc = run.native ? this.#native?.stats().cameraSsrc : this.#cameraSsrc;
      if (this.#run !== run || cameraSsrc === undefined) return;
      this.#lastKeyframeRequestAt = Date.now();
      this.#requestSinceKeyframe = true;
      this.stats.keyframeRequests++;
      client.sendRtcp(track, rtcpPli(this.#ssrc, cameraSsrc));
    };
    if (wait <= 0) send();
    else this.#keyframeTimer = setTimeout(send, wait);
  }

  #fail(error: IngestError): void {
    const run = this.#run;
    if (this.#stopping || !run) return;
    // Reported unless a newer run started while this one was being torn down (its error is stale).
    void this.stop().then(() => this.#lastRun === run && this.emit('error', error));
  }

  /** Ends the run (TEARDOWN); the source ports stay for the next run until close(). */
  async stop(): Promise<void> {
    this.#stopping = true;
    const run = this.#run;
    this.#run = undefined;
    if (this.#keyframeTimer) clearTimeout(this.#keyframeTimer);
    this.#keyframeTimer = undefined;
    if (run) for (const timer of run.timers) clearInterval(timer);
    // Packets still arriving until TEARDOWN are ignored (no output), as the JavaScript path ignores them.
    this.#native?.setOutput(-1);
    await this.#closeClient();
  }

  /** Ends the run and releases the source ports (a later start() binds new ones, for a new feed). */
  async close(): Promise<void> {
    await this.stop();
    const sockets = await this.#sockets?.catch(() => undefined);
    this.#sockets = undefined;
    // Before the socket closes: its descriptor may be reused at once, and the sender must not write to it.
    sockets?.sender.close();
    this.#native?.destroy();
    this.#native = undefined;
    this.#nativePortOwner = undefined;
    // A SETUP of a closed run still retrying binds nothing more.
    this.#nativePortGeneration++;
    this.#lastPath = undefined;
    sockets?.rtp.close();
    sockets?.rtcp.close();
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}


interface Sockets {
  rtp: dgram.Socket;
  /** The RTP socket's descriptor, when the addon opened it (the native relay sends on it). */
  fd?: number;
  rtcp: dgram.Socket;
  /** Sends on `rtp`, batched per event-loop turn. */
  sender: RtpBatchSender;
  /** Where the RTP socket is connected ("ip:port"), if anywhere. */
  connectedTo?: string;
}

interface Run {
  timers: NodeJS.Timeout[];
  /** Set once SETUP and PLAY succeeded. */
  sockets?: Sockets;
  flowing: boolean;
  /** A parameter set told the stream's codec. */
  sniffed: boolean;
  /** The native relay takes this run's RTP (set once SETUP agreed UDP on its port). */
  native?: boolean;
  /** The native relay's keyframe count when the run got under way. */
  keyframesAtStart?: number;
}

/**
 * The RTP and RTCP source sockets on loopback; RTCP arriving from mediasoup goes to `onRtcp`. With
 * the udp_batch addon the RTP socket is one it opened (bound to 127.0.0.1 like the other), handed
 * to dgram, so the sender knows its descriptor.
 */
async function openSockets(onRtcp: (packet: Buffer) => void, counters: RtpSendCounters, native: boolean, onLog?: (line: string) => void): Promise<Sockets> {
  const addon = native ? udpBatchAddon(onLog) : undefined;
  const rtp = dgram.createSocket('udp4');
  const rtcp = dgram.createSocket('udp4');
  for (const socket of [rtp, rtcp]) socket.on('error', () => undefined);
  rtcp.on('message', onRtcp);
  let fd: number | undefined;
  try {
    fd = addon?.openUdp4();
    await Promise.all([bind(rtp, fd), bind(rtcp)]);
  } catch (error) {
    rtp.close();
    rtcp.close();
    throw error;
  }
  return { rtp, rtcp, ...(fd !== undefined && { fd }), sender: new RtpBatchSender(rtp, counters, addon && fd !== undefined ? { addon, fd } : undefined) };
}

/** Binds to 127.0.0.1, a port of the kernel's choice; or adopts `fd`, a socket already bound. */
function bind(socket: dgram.Socket, fd?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    const bound = () => {
      socket.off('error', reject);
      resolve();
    };
    if (fd === undefined) socket.bind(0, '127.0.0.1', bound);
    else socket.bind({ fd }, bound);
  });
}

/** Offset of an RTP packet's payload (RFC 3550 §5.1: after CSRCs and a header extension); past the end when malformed. */
function rtpPayloadOffset(packet: Buffer): number {
  let offset = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) offset = packet.length < offset + 4 ? packet.length : offset + 4 + packet.readUInt16BE(offset + 2) * 4;
  return offset;
}

/**
 * Connects the RTP and RTCP sockets to the PlainTransport (once per target; a new feed's target replaces the
 * old one): sends then skip the per-packet address lookup, a measurable share of the relay's CPU.
 */
async function connectTo(sockets: Sockets, target: RtpTarget): Promise<void> {
  const wanted = `${target.ip}:${target.rtpPort}:${target.rtcpPort}`;
  if (sockets.connectedTo === wanted) return;
  if (sockets.connectedTo !== undefined) {
    sockets.rtp.disconnect();
    sockets.rtcp.disconnect();
  }
  sockets.connectedTo = undefined;
  // RTCP too: the sender reports go out without an address, and only mediasoup's RTCP comes in.
  await Promise.all([connect(sockets.rtp, target.rtpPort, target.ip), connect(sockets.rtcp, target.rtcpPort, target.ip)]);
  sockets.connectedTo = wanted;
}

function connect(socket: dgram.Socket, port: number, ip: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, ip, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}
