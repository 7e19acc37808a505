import { parseH264Sps, type H264Sps } from '../h264Sps.ts';
import type { RtpOutput } from './RtpBatchSender.ts';

export interface H264RtpRewriterOptions {
  /** SSRC and payload type of the output (what the mediasoup Producer was created with). */
  ssrc: number;
  payloadType: number;
  /** SPS and PPS NAL units (header byte included, no start code) from the SDP's sprop-parameter-sets, when the camera gave them. */
  parameterSets?: { sps: Buffer; pps: Buffer };
  /** Wall clock in ms (tests inject one). Default Date.now. */
  now?: () => number;
}

/** Counters since construction (never reset by restart()). */
export interface H264RtpRewriterStats {
  /** Packets given to push(). */
  packetsIn: number;
  /** Packets returned by push(), inserted parameter-set packets included. */
  packetsOut: number;
  /** Well-formed packets not forwarded (waiting for a keyframe, from before the point forwarding resumed, or repeated parameter sets: parameterSetsRemoved). */
  dropped: number;
  /** Packets that are not valid RTP (RFC 3550 §5.1) or whose H.264 payload is malformed (RFC 6184 §5.6-5.8); dropped. */
  invalid: number;
  /** STAP-A [SPS, PPS] packets inserted before IDR pictures. */
  parameterSetsInserted: number;
  /** Packets of nothing but SPS/PPS, the same ones again, after a slice of the same picture: not forwarded (see push()). */
  parameterSetsRemoved: number;
  /** IDR access units seen in the stream (forwarded or not). */
  keyframes: number;
  /** Camera timestamp jumps (more than 1 s away from the wall clock) smoothed over; restarts not included. */
  timestampRebases: number;
  /** In-band SPS differing from the previous one, in-band or from the SDP (the camera changed resolution or profile). */
  spsChanges: number;
  /** Wall clock (ms) of the newest IDR access unit. */
  lastKeyframeAt?: number;
  /** Wall-clock interval (ms) between the two newest IDR access units: the camera's GOP. */
  keyframeIntervalMs?: number;
}

/** What the H.264 payload of one packet carries, as far as the rewriter cares. */
interface PayloadInfo {
  /** Complete SPS / PPS NAL units in the packet (single NAL unit or STAP-A), newest last. */
  sps?: Buffer;
  pps?: Buffer;
  /** The packet starts an IDR slice (type 5: single NAL, inside a STAP-A, or FU-A with the start bit). */
  idrStart: boolean;
  /** That IDR slice is the first of its picture (first_mb_in_slice = 0). */
  idrFirstSlice: boolean;
  /** The packet carries an SPS / PPS before its IDR slice (or anywhere, when there is none). */
  spsBeforeIdr: boolean;
  ppsBeforeIdr: boolean;
  /** The packet carries (part of) a slice (NAL types 1-5). */
  vcl: boolean;
  /** The packet carries SPS and/or PPS NAL units and nothing else. */
  onlyParameterSets: boolean;
}

const RTP_HEADER = 12;
const CLOCK_RATE_PER_MS = 90;
/** A camera timestamp may drift from the wall clock by this much (90 kHz units, 1 s) before it is rebased. */
const MAX_CLOCK_DISAGREEMENT = 90_000;
/** Packets at most this far behind the newest sequence number are reordered ones; farther, a sequence jump. */
const REORDER_WINDOW = 512;
/** Sequence numbers remembered for late packets (start of forwarding, offset changes) expire after this many packets. */
const REFERENCE_LIFETIME = 8192;
/** Offset changes remembered for late packets (a few per keyframe). */
const MAX_OFFSET_CHANGES = 64;

const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/** Signed difference a - b of two 16-bit sequence numbers (RFC 3550 §A.1 style). */
function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** Signed difference a - b of two 32-bit RTP timestamps. */
function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Rewrites a camera's H.264 RTP stream (RFC 3550, payload per RFC 6184, packetization-mode 0 or 1)
 * into the stream a mediasoup Producer expects, packet by packet, without reassembling frames:
 *
 * - SSRC and payload type replaced; sequence numbers (16 bit) and timestamps (90 kHz, 32 bit)
 *   shifted by offsets, so the camera's gaps and reordering reach the SFU as they were.
 * - Before the first packet of each IDR picture whose access unit did not carry SPS and PPS, one
 *   STAP-A [SPS, PPS] (RFC 6184 §5.7.1) is inserted, so a browser joining at any keyframe can decode.
 * - A packet holding only the SPS/PPS already sent in this access unit, again, after one of its slices
 *   (a camera whose payloader puts them before every IDR slice of a multi-slice picture: GStreamer's
 *   rtph264pay config-interval=-1) is not forwarded: an SPS or PPS after a slice starts a new access
 *   unit (H.264 §7.4.1.2.3), so decoders that find pictures by NAL units (ffmpeg's) cut the picture
 *   in two and decode each half with the other missing.
 * - Across restart() (the camera's RTSP session was re-established) and across camera clock jumps,
 *   sequence numbers and timestamps continue from the last output, following the wall clock.
 * - After construction and restart(), nothing is forwarded before an IDR whose SPS/PPS are known.
 *
 * Work is O(packet size) per packet and nothing is buffered.
 */
export class H264RtpRewriter {
  private readonly outSsrc: number;
  private readonly outPayloadType: number;
  private readonly now: () => number;
  private readonly counters: H264RtpRewriterStats = {
    packetsIn: 0,
    packetsOut: 0,
    dropped: 0,
    invalid: 0,
    parameterSetsInserted: 0,
    parameterSetsRemoved: 0,
    keyframes: 0,
    timestampRebases: 0,
    spsChanges: 0,
  };

  private spsNal: Buffer | undefined;
  private ppsNal: Buffer | undefined;
  private spsParsed: H264Sps | undefined;

  private waiting = true;
  /** Set by restart(): the next forwarded packet recomputes both offsets. */
  private resumeAfterRestart = false;
  private seqOffset = 0;
  private tsOffset = 0;

  /** Newest input sequence number (undefined before the first valid packet and after restart()). */
  private newestInSeq: number | undefined;
  /** Input sequence number of the first packet forwarded since construction/restart(): older late packets are dropped. */
  private startInSeq: number | undefined;
  /**
   * Where the sequence offset changed, oldest first: a STAP-A inserted before the packet `inSeq`, or
   * the packet `inSeq` removed. A late packet older than a change uses the offset in force before it.
   */
  private offsetChanges: Array<{ inSeq: number; offsetBefore: number; removed: boolean }> = [];

  /** The current access unit (input timestamp) and what has been done in it. */
  private auInTs: number | undefined;
  private auMapped = false;
  private auSentSps = false;
  private auSentPps = false;
  private auIdrCounted = false;
  /** A slice of the current access unit has been forwarded. */
  private auSentVcl = false;

  /** Newest output sequence number, and the output timestamp and wall clock of the newest forwarded access unit. */
  private lastOutSeq: number | undefined;
  private lastOutTs = 0;
  private lastOutAt = 0;

  constructor(options: H264RtpRewriterOptions) {
    this.outSsrc = options.ssrc >>> 0;
    this.outPayloadType = options.payloadType & 0x7f;
    this.now = options.now ?? Date.now;
    if (options.parameterSets) {
      this.spsNal = Buffer.from(options.parameterSets.sps);
      this.ppsNal = Buffer.from(options.parameterSets.pps);
      this.spsParsed = parseSpsOrUndefined(this.spsNal);
    }
  }

  /**
   * The newest output: sequence number, RTP timestamp and the wall clock (ms) of its access unit;
   * undefined before anything was forwarded.
   */
  get lastOutput(): { seq: number; ts: number; at: number } | undefined {
    return this.lastOutSeq === undefined ? undefined : { seq: this.lastOutSeq, ts: this.lastOutTs, at: this.lastOutAt };
  }

  /**
   * Continues another rewriter's output (the relay's other path, relay_loop.c, ran the camera
   * before): after restart(), the next IDR follows `last` as it would follow this rewriter's own.
   */
  continueFrom(last: { seq: number; ts: number; at: number }): void {
    this.lastOutSeq = last.seq & 0xffff;
    this.lastOutTs = last.ts >>> 0;
    this.lastOutAt = last.at;
    this.resumeAfterRestart = true;
  }

  /** True until the first IDR is forwarded (after construction or restart()): the owner asks the camera for a keyframe (PLI) meanwhile. */
  get waitingForKeyframe(): boolean {
    return this.waiting;
  }

  /** The newest SPS NAL unit (header byte included) seen in the stream, else the SDP's. */
  get sps(): Buffer | undefined {
    return this.spsNal;
  }

  /** The newest PPS NAL unit (header byte included) seen in the stream, else the SDP's. */
  get pps(): Buffer | undefined {
    return this.ppsNal;
  }

  /** The newest SPS parsed (size in pixels, profile, fps); undefined when none is known or it does not parse. */
  get parsedSps(): H264Sps | undefined {
    return this.spsParsed;
  }

  /** Counters since construction; a live object, read it, do not modify it. */
  get stats(): Readonly<H264RtpRewriterStats> {
    return this.counters;
  }

  /** The camera's RTSP session restarted: continue sequence numbers and timestamps from the last output, after the next IDR. */
  restart(): void {
    this.waiting = true;
    this.resumeAfterRestart = this.lastOutSeq !== undefined;
    this.newestInSeq = undefined;
    this.startInSeq = undefined;
    this.offsetChanges = [];
    this.auInTs = undefined;
    this.auMapped = false;
    this.auSentSps = false;
    this.auSentPps = false;
    this.auIdrCounted = false;
    this.auSentVcl = false;
  }

  /**
   * One camera RTP packet in (any Buffer view; it is not kept); the packets to send out, as new
   * Buffers the caller may keep: none, the packet rewritten, or an inserted STAP-A followed by it.
   * Never throws on bad input: invalid packets are dropped and counted.
   */
  push(packet: Buffer): Buffer[] {
    const output = new ArrayOutput();
    this.forward(packet, output);
    return output.packets;
  }

  /**
   * push() writing into `output` instead (no allocation per packet): the number of packets written,
   * 0 to 2, one after another.
   */
  forward(packet: Buffer, output: RtpOutput): number {
    this.counters.packetsIn += 1;
    const payloadStart = rtpPayloadStart(packet);
    if (payloadStart === undefined) {
      this.counters.invalid += 1;
      return 0;
    }
    const payloadEnd = packet.length - ((packet[0]! & 0x20) !== 0 ? packet[packet.length - 1]! : 0);
    const info = inspectPayload(packet, payloadStart, payloadEnd);
    if (info === undefined) {
      this.counters.invalid += 1;
      return 0;
    }
    const inSeq = packet.readUInt16BE(2);
    const inTs = packet.readUInt32BE(4);

    const behind = this.newestInSeq === undefined ? 1 : seqDiff(inSeq, this.newestInSeq);
    if (behind <= 0 && behind >= -REORDER_WINDOW) return this.late(packet, inSeq, inTs, output);
    this.newestInSeq = inSeq;
    this.expireReferences(inSeq);

    const now = this.now();
    if (inTs !== this.auInTs) this.beginAccessUnit(inTs);
    const repeated =
      info.onlyParameterSets &&
      this.auSentVcl &&
      (info.sps === undefined || (this.auSentSps && this.spsNal !== undefined && this.spsNal.equals(info.sps))) &&
      (info.pps === undefined || (this.auSentPps && this.ppsNal !== undefined && this.ppsNal.equals(info.pps)));
    // Parameter sets are recorded before deciding anything, so those the packet itself carries count.
    if (info.sps) this.recordSps(info.sps);
    if (info.pps) this.recordPps(info.pps);
    if (info.idrStart && !this.auIdrCounted) {
      this.auIdrCounted = true;
      this.countKeyframe(now);
    }

    if (this.waiting) {
      const canStart = info.idrStart && info.idrFirstSlice && this.spsNal !== undefined && this.ppsNal !== undefined;
      if (!canStart) {
        this.counters.dropped += 1;
        return 0;
      }
      this.waiting = false;
      if (this.resumeAfterRestart) {
        this.resumeAfterRestart = false;
        this.seqOffset = (this.lastOutSeq! + 1 - inSeq) & 0xffff;
        this.auMapped = false;
        this.rebaseTimestamp(inTs, now);
      }
      this.startInSeq = inSeq;
    }

    if (!this.auMapped) this.mapAccessUnit(inTs, now);

    if (repeated) {
      // The same SPS/PPS again after a slice of this picture: left out, later packets move up one.
      this.changeOffset(inSeq, -1, true);
      this.counters.dropped += 1;
      this.counters.parameterSetsRemoved += 1;
      return 0;
    }

    let written = 0;
    const carriesSps = this.auSentSps || info.spsBeforeIdr;
    const carriesPps = this.auSentPps || info.ppsBeforeIdr;
    if (info.idrStart && !(carriesSps && carriesPps)) {
      // Forwarding only starts at an IDR whose parameter sets are known, and they are never forgotten.
      this.parameterSetPacket(inSeq, inTs, output);
      written += 1;
      this.changeOffset(inSeq, 1, false);
      this.auSentSps = true;
      this.auSentPps = true;
      this.counters.parameterSetsInserted += 1;
    }
    if (info.sps) this.auSentSps = true;
    if (info.pps) this.auSentPps = true;
    if (info.vcl) this.auSentVcl = true;
    this.rewrite(packet, (inSeq + this.seqOffset) & 0xffff, (inTs + this.tsOffset) >>> 0, output);
    return written + 1;
  }

  /** A packet older than the newest one (reordered or duplicated by the network): forwarded with the mapping in force when it was sent. */
  private late(packet: Buffer, inSeq: number, inTs: number, output: RtpOutput): number {
    if (this.waiting || (this.startInSeq !== undefined && seqDiff(inSeq, this.startInSeq) < 0)) {
      this.counters.dropped += 1;
      return 0;
    }
    let offset = this.seqOffset;
    for (const change of this.offsetChanges) {
      if (change.removed && change.inSeq === inSeq) {
        // A copy of a packet that was left out: left out too.
        this.counters.dropped += 1;
        return 0;
      }
      if (seqDiff(inSeq, change.inSeq) < 0) {
        offset = change.offsetBefore;
        break;
      }
    }
    this.rewrite(packet, (inSeq + offset) & 0xffff, (inTs + this.tsOffset) >>> 0, output);
    return 1;
  }

  /** The sequence offset moves by `delta` from the packet `inSeq` on (a packet inserted before it, or it removed). */
  private changeOffset(inSeq: number, delta: number, removed: boolean): void {
    this.offsetChanges.push({ inSeq, offsetBefore: this.seqOffset, removed });
    if (this.offsetChanges.length > MAX_OFFSET_CHANGES) this.offsetChanges.shift();
    this.seqOffset = (this.seqOffset + delta) & 0xffff;
  }

  private expireReferences(inSeq: number): void {
    if (this.startInSeq !== undefined && seqDiff(inSeq, this.startInSeq) > REFERENCE_LIFETIME) this.startInSeq = undefined;
    while (this.offsetChanges.length > 0 && seqDiff(inSeq, this.offsetChanges[0]!.inSeq) > REFERENCE_LIFETIME) this.offsetChanges.shift();
  }

  private beginAccessUnit(inTs: number): void {
    this.auInTs = inTs;
    this.auMapped = false;
    this.auSentSps = false;
    this.auSentPps = false;
    this.auIdrCounted = false;
  }

  /**
   * Fixes the timestamp offset for the access unit being forwarded: kept, unless the camera's clock
   * moved more than 1 s away from the wall clock since the last forwarded access unit.
   */
  private mapAccessUnit(inTs: number, now: number): void {
    this.auMapped = true;
    if (this.lastOutSeq !== undefined) {
      const expected = this.lastOutTs + Math.round((now - this.lastOutAt) * CLOCK_RATE_PER_MS);
      const disagreement = tsDiff((inTs + this.tsOffset) >>> 0, expected >>> 0);
      if (Math.abs(disagreement) > MAX_CLOCK_DISAGREEMENT) {
        this.rebaseTimestamp(inTs, now);
        this.counters.timestampRebases += 1;
      }
    }
    this.lastOutTs = (inTs + this.tsOffset) >>> 0;
    this.lastOutAt = now;
  }

  /** Output timestamp of this access unit := last output + wall-clock time since it (at least one tick). */
  private rebaseTimestamp(inTs: number, now: number): void {
    const elapsed = Math.max(1, Math.round((now - this.lastOutAt) * CLOCK_RATE_PER_MS));
    this.tsOffset = (this.lastOutTs + elapsed - inTs) >>> 0;
  }

  private recordSps(nal: Buffer): void {
    if (this.spsNal !== undefined && this.spsNal.equals(nal)) return;
    if (this.spsNal !== undefined) this.counters.spsChanges += 1;
    this.spsNal = Buffer.from(nal);
    this.spsParsed = parseSpsOrUndefined(this.spsNal);
  }

  private recordPps(nal: Buffer): void {
    if (this.ppsNal !== undefined && this.ppsNal.equals(nal)) return;
    this.ppsNal = Buffer.from(nal);
  }

  private countKeyframe(now: number): void {
    this.counters.keyframes += 1;
    if (this.counters.lastKeyframeAt !== undefined) this.counters.keyframeIntervalMs = now - this.counters.lastKeyframeAt;
    this.counters.lastKeyframeAt = now;
  }

  /** STAP-A [SPS, PPS] (RFC 6184 §5.7.1), marker 0, at the sequence number the IDR packet would have had. */
  private parameterSetPacket(inSeq: number, inTs: number, output: RtpOutput): void {
    const sps = this.spsNal!;
    const pps = this.ppsNal!;
    const start = output.reserve(RTP_HEADER + 1 + 2 + sps.length + 2 + pps.length);
    const packet = output.buffer;
    const outSeq = (inSeq + this.seqOffset) & 0xffff;
    packet[start] = 0x80;
    packet[start + 1] = this.outPayloadType;
    packet.writeUInt16BE(outSeq, start + 2);
    packet.writeUInt32BE((inTs + this.tsOffset) >>> 0, start + 4);
    packet.writeUInt32BE(this.outSsrc, start + 8);
    // §5.7.1: F is the OR of the aggregated F bits, NRI the maximum of their NRIs.
    const f = (sps[0]! | pps[0]!) & 0x80;
    const nri = Math.max(sps[0]! & 0x60, pps[0]! & 0x60);
    let offset = start + RTP_HEADER;
    packet[offset++] = f | nri | NAL_STAP_A;
    packet.writeUInt16BE(sps.length, offset);
    sps.copy(packet, offset + 2);
    offset += 2 + sps.length;
    packet.writeUInt16BE(pps.length, offset);
    pps.copy(packet, offset + 2);
    this.counters.packetsOut += 1;
    this.lastOutSeq = outSeq;
  }

  private rewrite(packet: Buffer, outSeq: number, outTs: number, output: RtpOutput): void {
    const start = output.reserve(packet.length);
    const out = output.buffer;
    packet.copy(out, start);
    out[start + 1] = (packet[1]! & 0x80) | this.outPayloadType;
    out.writeUInt16BE(outSeq, start + 2);
    out.writeUInt32BE(outTs, start + 4);
    out.writeUInt32BE(this.outSsrc, start + 8);
    this.counters.packetsOut += 1;
    if (this.lastOutSeq === undefined || seqDiff(outSeq, this.lastOutSeq) > 0) this.lastOutSeq = outSeq;
  }
}

/** push()'s output: every packet a Buffer of its own. */
class ArrayOutput implements RtpOutput {
  readonly packets: Buffer[] = [];
  buffer = Buffer.alloc(0);

  reserve(length: number): number {
    this.buffer = Buffer.alloc(length);
    this.packets.push(this.buffer);
    return 0;
  }
}

function parseSpsOrUndefined(nal: Buffer): H264Sps | undefined {
  try {
    return parseH264Sps(nal);
  } catch {
    return undefined;
  }
}

/**
 * Offset of the RTP payload (RFC 3550 §5.1: fixed header, CSRC list, §5.3.1 header extension), or
 * undefined when the packet is not version 2 or its header, extension or padding (§5.1: the last
 * octet counts the padding, itself included) does not fit in it, or nothing is left for a payload.
 */
function rtpPayloadStart(packet: Buffer): number | undefined {
  if (packet.length < RTP_HEADER) return undefined;
  const first = packet[0]!;
  if (first >> 6 !== 2) return undefined;
  let offset = RTP_HEADER + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (offset + 4 > packet.length) return undefined;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  if (offset > packet.length) return undefined;
  const padding = (first & 0x20) !== 0 ? packet[packet.length - 1]! : 0;
  if ((first & 0x20) !== 0 && padding === 0) return undefined;
  if (offset + padding >= packet.length) return undefined;
  return offset;
}

/**
 * What an H.264 RTP payload (RFC 6184 §5.6 single NAL unit, §5.7.1 STAP-A, §5.8 FU-A) carries; undefined
 * when it is malformed (empty NAL units, STAP-A lengths past the end, FU-A without its header).
 * Other packet types (STAP-B, MTAP, FU-B, reserved) pass uninspected.
 */
function inspectPayload(packet: Buffer, start: number, end: number): PayloadInfo | undefined {
  const info: PayloadInfo = { idrStart: false, idrFirstSlice: false, spsBeforeIdr: false, ppsBeforeIdr: false, vcl: false, onlyParameterSets: false };
  const type = packet[start]! & 0x1f;
  if (type >= 1 && type <= 23) {
    noteNal(info, packet.subarray(start, end));
    info.onlyParameterSets = type === NAL_SPS || type === NAL_PPS;
  } else if (type === NAL_STAP_A) {
    let offset = start + 1;
    if (offset >= end) return undefined;
    let others = 0;
    while (offset < end) {
      if (offset + 2 > end) return undefined;
      const size = packet.readUInt16BE(offset);
      offset += 2;
      if (size === 0 || offset + size > end) return undefined;
      const nal = packet.subarray(offset, offset + size);
      const nalType = nal[0]! & 0x1f;
      if (nalType !== NAL_SPS && nalType !== NAL_PPS) others += 1;
      noteNal(info, nal);
      offset += size;
    }
    info.onlyParameterSets = others === 0;
  } else if (type === NAL_FU_A) {
    if (start + 2 >= end) return undefined;
    const header = packet[start + 1]!;
    const fragmentType = header & 0x1f;
    if (fragmentType >= 1 && fragmentType <= NAL_IDR) info.vcl = true;
    if ((header & 0x80) !== 0 && fragmentType === NAL_IDR) {
      info.idrStart = true;
      info.idrFirstSlice = ((packet[start + 2] ?? 0) & 0x80) !== 0;
    }
  }
  if (!info.idrStart) {
    info.spsBeforeIdr = info.sps !== undefined;
    info.ppsBeforeIdr = info.pps !== undefined;
  }
  return info;
}

/** Records one complete NAL unit of a payload (in order) into `info`. */
function noteNal(info: PayloadInfo, nal: Buffer): void {
  const type = nal[0]! & 0x1f;
  if (type >= 1 && type <= NAL_IDR) info.vcl = true;
  if (type === NAL_SPS) {
    info.sps = nal;
  } else if (type === NAL_PPS) {
    info.pps = nal;
  } else if (type === NAL_IDR && !info.idrStart) {
    info.idrStart = true;
    // first_mb_in_slice is ue(v) and the first syntax element: 0 is the single bit '1'.
    info.idrFirstSlice = nal.length > 1 && (nal[1]! & 0x80) !== 0;
    info.spsBeforeIdr = info.sps !== undefined;
    info.ppsBeforeIdr = info.pps !== undefined;
  }
}
