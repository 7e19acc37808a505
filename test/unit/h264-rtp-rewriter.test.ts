import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSpropParameterSets } from '../../workers/h264Sps.ts';
import { H264RtpRewriter } from '../../workers/relay/H264RtpRewriter.ts';
import { ScriptedCamera, type AccessUnit, type ScriptedCameraVideo } from '../support/ScriptedCamera.ts';

// Camera packets are built here: an RTP header (RFC 3550 §5.1) and H.264 payloads packetized as a
// camera does (RFC 6184: single NAL unit packets, FU-A above 1200 bytes). The real video is libx264
// output from ScriptedCamera; its SPS/PPS come from the camera's SDP (a real DESCRIBE). Whatever the
// rewriter outputs is depacketized into Annex-B and decoded by ffmpeg with -xerror.

const OUT_SSRC = 0x0badcafe;
const OUT_PT = 101;
const FRAME_TICKS = 3600; // 90 kHz at 25 fps
const FRAME_MS = 40;
const START_CODE = Buffer.from([0, 0, 0, 1]);
const video: ScriptedCameraVideo = { width: 320, height: 180, fps: 25, gop: 25, slices: 2 };

interface RtpFields {
  seq: number;
  ts: number;
  marker?: boolean;
  payload: Buffer;
  ssrc?: number;
  pt?: number;
  csrcs?: number[];
  extension?: Buffer;
  padding?: number;
}

function rtp(fields: RtpFields): Buffer {
  const csrcs = fields.csrcs ?? [];
  const ext = fields.extension ? Buffer.concat([Buffer.from([0xbe, 0xde, 0, fields.extension.length / 4]), fields.extension]) : Buffer.alloc(0);
  const pad = fields.padding ? Buffer.alloc(fields.padding) : Buffer.alloc(0);
  if (fields.padding) pad[pad.length - 1] = fields.padding;
  const header = Buffer.alloc(12 + 4 * csrcs.length);
  header[0] = 0x80 | (fields.padding ? 0x20 : 0) | (fields.extension ? 0x10 : 0) | csrcs.length;
  header[1] = (fields.marker ? 0x80 : 0) | (fields.pt ?? 96);
  header.writeUInt16BE(fields.seq & 0xffff, 2);
  header.writeUInt32BE(fields.ts >>> 0, 4);
  header.writeUInt32BE(fields.ssrc ?? 0x12345678, 8);
  csrcs.forEach((csrc, i) => header.writeUInt32BE(csrc, 12 + 4 * i));
  return Buffer.concat([header, ext, fields.payload, pad]);
}

interface ParsedRtp {
  marker: boolean;
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

function parseRtp(packet: Buffer): ParsedRtp {
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  const end = packet.length - (packet[0]! & 0x20 ? packet[packet.length - 1]! : 0);
  return {
    marker: (packet[1]! & 0x80) !== 0,
    pt: packet[1]! & 0x7f,
    seq: packet.readUInt16BE(2),
    ts: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

/** RFC 6184 packetization-mode 1 as cameras do it: one packet per NAL unit, FU-A (§5.8) when larger than 1200 bytes. */
function packetize(nals: Buffer[], maxPayload = 1200): Buffer[] {
  const payloads: Buffer[] = [];
  for (const nal of nals) {
    if (nal.length <= maxPayload) {
      payloads.push(nal);
      continue;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    const type = nal[0]! & 0x1f;
    for (let offset = 1; offset < nal.length; offset += maxPayload - 2) {
      const end = Math.min(nal.length, offset + maxPayload - 2);
      const header = (offset === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
      payloads.push(Buffer.concat([Buffer.from([indicator, header]), nal.subarray(offset, end)]));
    }
  }
  return payloads;
}

function stapA(nals: Buffer[]): Buffer {
  const nri = Math.max(...nals.map((nal) => nal[0]! & 0x60));
  return Buffer.concat([Buffer.from([nri | 24]), ...nals.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal])]);
}

/** A camera's RTP sender: sequence numbers +1 per packet, timestamps +3600 per access unit. */
class FakeCameraSender {
  constructor(
    public seq: number,
    public ts: number,
    private readonly ssrc = 0x12345678,
  ) {}

  /** One access unit's payloads -> RTP packets (marker on the last), then the clock moves one frame. */
  send(payloads: Buffer[]): Buffer[] {
    const packets = payloads.map((payload, index) => rtp({ seq: this.seq + index, ts: this.ts, marker: index === payloads.length - 1, payload, ssrc: this.ssrc }));
    this.seq = (this.seq + payloads.length) & 0xffff;
    this.ts = (this.ts + FRAME_TICKS) >>> 0;
    return packets;
  }
}

interface Clip {
  units: AccessUnit[];
  sps: Buffer;
  pps: Buffer;
}

/** The camera's SDP, by a real DESCRIBE: sprop-parameter-sets decoded. */
async function describeParameterSets(cameraVideo: ScriptedCameraVideo): Promise<{ sps: Buffer; pps: Buffer }> {
  const camera = await ScriptedCamera.start({ video: cameraVideo });
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(camera.port, '127.0.0.1');
      let received = '';
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (/sprop-parameter-sets=[^\r\n]*\r\n/.test(received)) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.write(`DESCRIBE ${camera.url()} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`);
    });
    const value = /sprop-parameter-sets=([^;\r\n]*)/.exec(text)?.[1] ?? '';
    const [sps, pps] = decodeSpropParameterSets(value);
    if (!sps || !pps) throw new Error(`no SPS/PPS in the SDP: ${text}`);
    return { sps, pps };
  } finally {
    await camera.stop();
  }
}

async function loadClip(cameraVideo: ScriptedCameraVideo): Promise<Clip> {
  const units = await ScriptedCamera.accessUnits(cameraVideo);
  return { units, ...(await describeParameterSets(cameraVideo)) };
}

/** The payloads of one access unit; SPS and PPS in front of each IDR when in-band. */
function unitPayloads(clip: Clip, unit: AccessUnit, inband: boolean): Buffer[] {
  return packetize(unit.keyframe && inband ? [clip.sps, clip.pps, ...unit.nals] : unit.nals);
}

/** Depacketizes (single NAL unit, STAP-A, FU-A) into an Annex-B byte stream. */
function toAnnexB(packets: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const packet of packets) {
    const { payload } = parseRtp(packet);
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      parts.push(START_CODE, payload);
    } else if (type === 24) {
      for (let offset = 1; offset + 2 <= payload.length; ) {
        const size = payload.readUInt16BE(offset);
        parts.push(START_CODE, payload.subarray(offset + 2, offset + 2 + size));
        offset += 2 + size;
      }
    } else if (type === 28) {
      if (payload[1]! & 0x80) parts.push(START_CODE, Buffer.from([(payload[0]! & 0xe0) | (payload[1]! & 0x1f)]));
      parts.push(payload.subarray(2));
    } else {
      throw new Error(`unexpected packet type ${type} in the output`);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes with ffmpeg (-xerror): returns the number of frames; fails the test on any decoder message. */
function decode(packets: Buffer[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'h264-rewriter-'));
  try {
    const file = join(dir, 'out.h264');
    writeFileSync(file, toAnnexB(packets));
    const strict = spawnSync('/usr/bin/ffmpeg', ['-v', 'error', '-xerror', '-f', 'h264', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(strict.status, strict.stderr).to.equal(0);
    expect(strict.stdout + strict.stderr).to.equal('');
    const frames = spawnSync('/usr/bin/ffmpeg', ['-v', 'error', '-xerror', '-f', 'h264', '-i', file, '-f', 'framemd5', '-'], { encoding: 'utf8' });
    expect(frames.status, frames.stderr).to.equal(0);
    return frames.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nalTypeOf(packet: Buffer): number {
  return parseRtp(packet).payload[0]! & 0x1f;
}

/** Signed 32-bit difference. */
function tsStep(a: number, b: number): number {
  return (a - b) | 0;
}

/** Output timestamps of consecutive access units: every step forwards and at most ~1 s. */
function expectSmoothTimestamps(packets: Buffer[]): number[] {
  const steps: number[] = [];
  let previous: number | undefined;
  for (const packet of packets) {
    const { ts } = parseRtp(packet);
    if (previous !== undefined && ts !== previous) steps.push(tsStep(ts, previous));
    previous = ts;
  }
  for (const step of steps) expect(step).to.be.within(1, 90_000);
  return steps;
}

function expectConsecutiveSeqs(packets: Buffer[]): void {
  for (let i = 1; i < packets.length; i++) {
    expect((parseRtp(packets[i]!).seq - parseRtp(packets[i - 1]!).seq) & 0xffff, `packet ${i}`).to.equal(1);
  }
}

/** mulberry32: a small seeded PRNG, so a failing fuzz case replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('H264RtpRewriter', function () {
  let clip: Clip;
  let clock: number;
  const now = (): number => clock;

  before(async function () {
    clip = await loadClip(video);
    expect(clip.units[0]!.keyframe).to.equal(true);
    expect(clip.units.length).to.be.at.least(50);
  });

  beforeEach(function () {
    clock = 1_000_000;
  });

  /** Streams units [from, to) of the clip through the rewriter, one frame (40 ms) of wall clock each. */
  function stream(rewriter: H264RtpRewriter, sender: FakeCameraSender, from: number, to: number, inband = true, source: Clip = clip): Buffer[] {
    const out: Buffer[] = [];
    for (let i = from; i < to; i++) {
      const unit = source.units[i % source.units.length]!;
      for (const packet of sender.send(unitPayloads(source, unit, inband))) out.push(...rewriter.push(packet));
      clock += FRAME_MS;
    }
    return out;
  }

  it('replaces SSRC and payload type, keeps marker, CSRCs, header extension, payload and padding', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const idr = stapA([clip.sps, clip.pps, clip.units[0]!.nals[0]!]);
    const input = rtp({ seq: 7, ts: 1234, marker: true, payload: idr, pt: 96, csrcs: [1, 2], extension: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), padding: 3 });
    const out = rewriter.push(input);
    expect(out).to.have.length(1);
    const packet = out[0]!;
    expect(packet).to.not.equal(input);
    expect(packet.readUInt32BE(8)).to.equal(OUT_SSRC);
    expect(packet[1]).to.equal(0x80 | OUT_PT);
    expect(packet.readUInt16BE(2)).to.equal(7);
    expect(packet.readUInt32BE(4)).to.equal(1234);
    // Everything but the payload type and SSRC is as received.
    const expected = Buffer.from(input);
    expected[1] = 0x80 | OUT_PT;
    expected.writeUInt32BE(OUT_SSRC, 8);
    expect(packet.equals(expected)).to.equal(true);
    input.fill(0); // the caller may reuse its buffer: the output is a copy
    expect(packet.readUInt32BE(8)).to.equal(OUT_SSRC);
    expect(rewriter.waitingForKeyframe).to.equal(false);
    expect(rewriter.stats.parameterSetsInserted).to.equal(0);
  });

  it('forwards a real stream with in-band SPS/PPS as received; ffmpeg decodes every frame', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const out = stream(rewriter, new FakeCameraSender(1000, 555_555), 0, clip.units.length);
    const keyframes = clip.units.filter((unit) => unit.keyframe).length;
    // The camera's SPS and PPS packets in front of the first IDR arrive while waiting for it: they are
    // dropped, and given back as the one inserted STAP-A. Later IDRs carry their own.
    expect(rewriter.stats).to.include({ parameterSetsInserted: 1, dropped: 2, invalid: 0, keyframes, timestampRebases: 0, spsChanges: 0, keyframeIntervalMs: 1000 });
    expect(rewriter.stats.packetsOut).to.equal(rewriter.stats.packetsIn - 1);
    expect(nalTypeOf(out[0]!)).to.equal(24);
    expect(out.slice(1).filter((packet) => nalTypeOf(packet) === 24)).to.have.length(0);
    expect(rewriter.sps?.equals(clip.sps)).to.equal(true);
    expect(rewriter.parsedSps).to.include({ width: 320, height: 180 });
    for (const packet of out) expect(parseRtp(packet)).to.include({ ssrc: OUT_SSRC, pt: OUT_PT });
    expectConsecutiveSeqs(out);
    expectSmoothTimestamps(out);
    expect(decode(out)).to.equal(clip.units.length);
  });

  it('SPS/PPS only in the SDP: inserts one STAP-A [SPS, PPS] before each 2-slice IDR; ffmpeg decodes it', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    expect(rewriter.waitingForKeyframe).to.equal(true);
    const out = stream(rewriter, new FakeCameraSender(65_000, 0xffff0000), 0, clip.units.length, false);
    const keyframes = clip.units.filter((unit) => unit.keyframe).length;
    expect(clip.units[0]!.nals).to.have.length(2);
    expect(rewriter.stats.parameterSetsInserted).to.equal(keyframes);
    expect(rewriter.stats.packetsOut).to.equal(rewriter.stats.packetsIn + keyframes);
    const inserted = out.filter((packet) => nalTypeOf(packet) === 24);
    expect(inserted).to.have.length(keyframes);
    for (const packet of inserted) {
      const index = out.indexOf(packet);
      const stap = parseRtp(packet);
      const next = parseRtp(out[index + 1]!);
      expect(stap.marker).to.equal(false);
      expect(stap.ts).to.equal(next.ts);
      expect((next.seq - stap.seq) & 0xffff).to.equal(1);
      // The IDR's first packet (an FU-A start of type 5 here) follows it.
      expect(next.payload[0]! & 0x1f).to.equal(28);
      expect(next.payload[1]! & 0x9f).to.equal(0x85);
      expect(stap.payload[0]).to.equal(0x78); // F 0, NRI max(3, 3), type 24
      expect(stap.payload.equals(stapA([clip.sps, clip.pps]))).to.equal(true);
    }
    expectConsecutiveSeqs(out);
    expect(decode(out)).to.equal(clip.units.length);
  });

  it('without any SPS/PPS known it forwards nothing, IDR included, and keeps waiting', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const out = stream(rewriter, new FakeCameraSender(1, 1), 0, 30, false);
    expect(out).to.have.length(0);
    expect(rewriter.waitingForKeyframe).to.equal(true);
    expect(rewriter.stats.dropped).to.equal(rewriter.stats.packetsIn);
    expect(rewriter.stats.keyframes).to.equal(2);
  });

  it('starting in the middle of a GOP drops everything up to the next IDR', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const sender = new FakeCameraSender(300, 9000);
    const before = stream(rewriter, sender, 10, 25);
    expect(before).to.have.length(0);
    expect(rewriter.waitingForKeyframe).to.equal(true);
    const dropped = rewriter.stats.dropped;
    expect(dropped).to.equal(rewriter.stats.packetsIn);
    const after = stream(rewriter, sender, 25, 50);
    expect(rewriter.waitingForKeyframe).to.equal(false);
    expect(rewriter.stats.dropped).to.equal(dropped + 2); // the camera's SPS and PPS packets, just before the IDR
    expect(nalTypeOf(after[0]!)).to.equal(24); // ... given back as one STAP-A
    expect(parseRtp(after[1]!).payload[1]! & 0x9f).to.equal(0x85);
    expect(decode(after)).to.equal(25);
  });

  it('restart in the middle of a GOP: waits for the IDR, then sequence and timestamps continue from the last output', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const first = stream(rewriter, new FakeCameraSender(1000, 123_456, 0x1111), 0, 38);
    const last = parseRtp(first[first.length - 1]!);
    const lastAuAt = clock - FRAME_MS;

    clock += 700; // the reconnect
    rewriter.restart();
    expect(rewriter.waitingForKeyframe).to.equal(true);
    // The new session: other SSRC, sequence numbers and timestamps; it resumes mid-GOP, SPS/PPS in the SDP only.
    const sender = new FakeCameraSender(50_000, 4_000_000_000, 0x2222);
    const skipped = stream(rewriter, sender, 38, 50, false);
    expect(skipped).to.have.length(0);
    const resumedAt = clock;
    const second = stream(rewriter, sender, 50, 75, false);
    expect(rewriter.waitingForKeyframe).to.equal(false);

    const head = parseRtp(second[0]!);
    expect(head.payload[0]! & 0x1f).to.equal(24); // inserted [SPS, PPS]
    expect(parseRtp(second[1]!).payload[1]! & 0x9f).to.equal(0x85); // then the IDR
    expect(head.seq).to.equal((last.seq + 1) & 0xffff);
    expect(tsStep(head.ts, last.ts)).to.equal((resumedAt - lastAuAt) * 90);
    expect(rewriter.stats.timestampRebases).to.equal(0);
    const all = [...first, ...second];
    expectConsecutiveSeqs(all);
    expectSmoothTimestamps(first);
    expectSmoothTimestamps(second);
    for (const packet of all) expect(parseRtp(packet).ssrc).to.equal(OUT_SSRC);
    expect(decode(all)).to.equal(38 + 25);
  });

  it('restart at once (no time elapsed) still moves the timestamp forward', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const first = stream(rewriter, new FakeCameraSender(10, 100), 0, 3);
    clock -= FRAME_MS; // the next packet arrives at the very time of the last access unit
    rewriter.restart();
    const second = stream(rewriter, new FakeCameraSender(10, 100), 0, 3);
    expect(tsStep(parseRtp(second[0]!).ts, parseRtp(first[first.length - 1]!).ts)).to.equal(1);
    expectConsecutiveSeqs([...first, ...second]);
  });

  it('smooths camera clock steps of +5 s and -5 s; ffmpeg decodes across them', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const sender = new FakeCameraSender(2000, 77_777);
    const out = stream(rewriter, sender, 0, 30);
    sender.ts = (sender.ts + 5 * 90_000) >>> 0;
    out.push(...stream(rewriter, sender, 30, 55));
    sender.ts = (sender.ts - 5 * 90_000) >>> 0;
    out.push(...stream(rewriter, sender, 55, 75));
    expect(rewriter.stats.timestampRebases).to.equal(2);
    const steps = expectSmoothTimestamps(out);
    expect(steps.every((step) => step === FRAME_TICKS)).to.equal(true);
    expectConsecutiveSeqs(out);
    expect(decode(out)).to.equal(75);
  });

  it('a small drift (under 1 s) from the wall clock is kept as the camera sent it', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const sender = new FakeCameraSender(2000, 0);
    const out = stream(rewriter, sender, 0, 5);
    clock += 900; // a network stall of 0.9 s: the camera's timestamps are right, not rebased
    out.push(...stream(rewriter, sender, 5, 10));
    expect(rewriter.stats.timestampRebases).to.equal(0);
    expect(expectSmoothTimestamps(out).every((step) => step === FRAME_TICKS)).to.equal(true);
  });

  it('input sequence (65535 -> 0) and timestamp (2^32) wrap-around pass without rebasing', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, now });
    const sender = new FakeCameraSender(65_500, 2 ** 32 - 20 * FRAME_TICKS);
    const out = stream(rewriter, sender, 0, 50);
    const seqs = out.map((packet) => parseRtp(packet).seq);
    const stamps = out.map((packet) => parseRtp(packet).ts);
    expect(seqs).to.include(65_535).and.to.include(0);
    expect(stamps).to.include(2 ** 32 - FRAME_TICKS).and.to.include(0);
    expect(rewriter.stats.timestampRebases).to.equal(0);
    expectConsecutiveSeqs(out);
    expect(expectSmoothTimestamps(out).every((step) => step === FRAME_TICKS)).to.equal(true);
    expect(decode(out)).to.equal(50);
  });

  it('preserves gaps and reordering; a late packet from before an insertion keeps its old number', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const slice = Buffer.from([0x65, 0x88, 0x84, 0x00]); // IDR, first_mb_in_slice 0
    const second = Buffer.from([0x65, 0x40, 0x84, 0x00]); // IDR, first_mb_in_slice 1
    const pSlice = Buffer.from([0x41, 0x9a, 0x00]);
    const seqs = (packets: Buffer[]): number[] => packets.map((packet) => parseRtp(packet).seq);
    // IDR at 100 (STAP-A inserted: 100, IDR 101), slice 2 at 101 -> 102.
    expect(seqs(rewriter.push(rtp({ seq: 100, ts: 0, payload: slice })))).to.deep.equal([100, 101]);
    expect(seqs(rewriter.push(rtp({ seq: 101, ts: 0, payload: second, marker: true })))).to.deep.equal([102]);
    // 102 is lost, 104 arrives before 103: the gap and the order reach the output.
    expect(seqs(rewriter.push(rtp({ seq: 104, ts: FRAME_TICKS, payload: pSlice })))).to.deep.equal([105]);
    expect(seqs(rewriter.push(rtp({ seq: 103, ts: FRAME_TICKS, payload: pSlice })))).to.deep.equal([104]);
    // Next IDR at 110 (insert: 111, IDR 112); 109 arrives late: 110, not 111 (the STAP-A's number).
    expect(seqs(rewriter.push(rtp({ seq: 110, ts: 2 * FRAME_TICKS, payload: slice })))).to.deep.equal([111, 112]);
    expect(seqs(rewriter.push(rtp({ seq: 109, ts: FRAME_TICKS, payload: pSlice, marker: true })))).to.deep.equal([110]);
    expect(rewriter.stats.parameterSetsInserted).to.equal(2);
    expect(rewriter.stats.keyframes).to.equal(2);
  });

  it('inserts exactly once per IDR access unit, in each packet form, and not when the unit carries SPS and PPS', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const [slice1, slice2] = clip.units[0]!.nals as [Buffer, Buffer];
    const sender = new FakeCameraSender(1, 1);
    const types = (payloads: Buffer[]): number[] => sender.send(payloads).flatMap((packet) => rewriter.push(packet)).map(nalTypeOf);
    // Two slices as FU-A: one STAP-A, before the first.
    expect(types(packetize([slice1, slice2], 500)).filter((type) => type === 24)).to.have.length(1);
    // Single NAL unit packets (small slices, hand-made).
    expect(types([Buffer.from([0x65, 0x88, 1]), Buffer.from([0x65, 0x40, 1])])).to.deep.equal([24, 5, 5]);
    // An IDR inside a STAP-A with SEI: inserted before it.
    expect(types([stapA([Buffer.from([0x06, 5, 1, 0x80]), Buffer.from([0x65, 0x88, 1])])])).to.deep.equal([24, 24]);
    // The camera's own STAP-A [SPS, PPS, IDR], or SPS and PPS packets before the IDR: nothing inserted.
    expect(types([stapA([clip.sps, clip.pps, Buffer.from([0x65, 0x88, 1])])])).to.deep.equal([24]);
    expect(types([clip.sps, clip.pps, Buffer.from([0x65, 0x88, 1]), Buffer.from([0x65, 0x40, 1])])).to.deep.equal([7, 8, 5, 5]);
    // Only the SPS in-band: still inserted (the PPS is missing).
    expect(types([clip.sps, Buffer.from([0x65, 0x88, 1])])).to.deep.equal([7, 24, 5]);
    expect(rewriter.stats.parameterSetsInserted).to.equal(4);
    expect(rewriter.stats.keyframes).to.equal(6);
  });

  it('follows an SPS change (new resolution): counted, then inserted from then on; ffmpeg decodes across it', async function () {
    const large = await loadClip({ width: 640, height: 360, fps: 25, gop: 25, slices: 2 });
    expect(large.sps.equals(clip.sps)).to.equal(false);
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const sender = new FakeCameraSender(40, 40);
    const out = stream(rewriter, sender, 0, 25, false);
    expect(rewriter.parsedSps).to.include({ width: 320, height: 180 });
    // The camera switches to 640x360, announcing it in-band once, then no more SPS/PPS in-band.
    out.push(...stream(rewriter, sender, 0, 1, true, large));
    expect(rewriter.stats.spsChanges).to.equal(1);
    expect(rewriter.sps?.equals(large.sps)).to.equal(true);
    expect(rewriter.pps?.equals(large.pps)).to.equal(true);
    expect(rewriter.parsedSps).to.include({ width: 640, height: 360 });
    const insertedBefore = rewriter.stats.parameterSetsInserted;
    const tail = stream(rewriter, sender, 1, 50, false, large);
    out.push(...tail);
    expect(rewriter.stats.parameterSetsInserted).to.equal(insertedBefore + 1);
    const stap = tail.find((packet) => nalTypeOf(packet) === 24)!;
    expect(parseRtp(stap).payload.equals(stapA([large.sps, large.pps]))).to.equal(true);
    expect(decode(out)).to.equal(25 + 50);
  });

  it('drops and counts invalid packets', function () {
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const idr = Buffer.from([0x65, 0x88, 0x84]);
    expect(rewriter.push(rtp({ seq: 1, ts: 0, payload: idr }))).to.have.length(2);
    const valid = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x41, 0x9a]) });
    const version1 = Buffer.from(valid);
    version1[0] = 0x40;
    const csrcPastEnd = Buffer.from(valid);
    csrcPastEnd[0] = 0x80 | 15;
    const extensionPastEnd = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x41, 0x9a]), extension: Buffer.alloc(4) });
    extensionPastEnd.writeUInt16BE(50, 14);
    const extensionHeaderCut = Buffer.from(valid.subarray(0, 14));
    extensionHeaderCut[0] = 0x90;
    const paddingTooLarge = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x41, 0x9a]), padding: 2 });
    paddingTooLarge[paddingTooLarge.length - 1] = 200;
    const paddingZero = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x41, 0x9a]), padding: 1 });
    paddingZero[paddingZero.length - 1] = 0;
    const badStap = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x18, 0x00, 0x09, 0x41]) });
    const emptyFu = rtp({ seq: 2, ts: 0, payload: Buffer.from([0x7c, 0x85]) });
    const invalid = [Buffer.alloc(0), valid.subarray(0, 11), valid.subarray(0, 12), version1, csrcPastEnd, extensionPastEnd, extensionHeaderCut, paddingTooLarge, paddingZero, badStap, emptyFu];
    for (const packet of invalid) expect(rewriter.push(packet)).to.deep.equal([]);
    expect(rewriter.stats.invalid).to.equal(invalid.length);
    expect(rewriter.stats.dropped).to.equal(0);
    // Nothing was disturbed: the next packet follows.
    expect(rewriter.push(valid).map((packet) => parseRtp(packet).seq)).to.deep.equal([3]);
  });

  it('2000 random buffers (seeded) never throw, and whatever comes out is ours', function () {
    const random = prng(0xc5c5);
    const rewriter = new H264RtpRewriter({ ssrc: OUT_SSRC, payloadType: OUT_PT, parameterSets: { sps: clip.sps, pps: clip.pps }, now });
    const templates = [clip.sps, clip.pps, ...clip.units[0]!.nals, ...clip.units[1]!.nals];
    let out = 0;
    for (let i = 0; i < 2000; i++) {
      const length = Math.floor(random() * 200);
      const packet = Buffer.alloc(length);
      for (let j = 0; j < length; j++) packet[j] = Math.floor(random() * 256);
      if (length > 13 && random() < 0.7) {
        // Mostly plausible RTP, so the H.264 paths are reached too: version 2, sometimes a real NAL start.
        packet[0] = 0x80 | (packet[0]! & 0x3f);
        if (random() < 0.5) templates[i % templates.length]!.copy(packet, 12, 0, length - 12);
      }
      clock += Math.floor(random() * 50);
      const result = rewriter.push(packet);
      for (const item of result) expect(parseRtp(item)).to.include({ ssrc: OUT_SSRC, pt: OUT_PT });
      out += result.length;
    }
    const { stats } = rewriter;
    expect(stats.packetsIn).to.equal(2000);
    expect(stats.packetsOut).to.equal(out);
    expect(stats.invalid).to.be.greaterThan(0);
    expect(stats.packetsOut - stats.parameterSetsInserted + stats.dropped + stats.invalid).to.equal(2000);
  });
});
