import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { H264RtpRewriter } from '../../workers/relay/H264RtpRewriter.ts';
import { ScriptedCamera, type ScriptedCameraVideo } from '../support/ScriptedCamera.ts';

// The camera of issue 19 as GStreamer sends it: x264 with two slices per picture, and rtph264pay
// config-interval=-1 putting SPS and PPS before *every* IDR slice, so a keyframe's packets are
// [SPS][PPS][IDR slice 1 ...][SPS][PPS][IDR slice 2 ...]. An SPS after a slice starts a new access
// unit (H.264 §7.4.1.2.3): ffmpeg cuts such a keyframe in two and decodes each half with the other
// missing. The rewriter leaves the repeated SPS/PPS out.

const video: ScriptedCameraVideo = { width: 320, height: 180, fps: 25, gop: 25, slices: 2 };
const START_CODE = Buffer.from([0, 0, 0, 1]);

function rtp(seq: number, ts: number, marker: boolean, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | 96;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(0x12345678, 8);
  return Buffer.concat([header, payload]);
}

function packetize(nals: Buffer[], maxPayload = 1200): Buffer[] {
  const payloads: Buffer[] = [];
  for (const nal of nals) {
    if (nal.length <= maxPayload) {
      payloads.push(nal);
      continue;
    }
    for (let offset = 1; offset < nal.length; offset += maxPayload - 2) {
      const end = Math.min(nal.length, offset + maxPayload - 2);
      payloads.push(Buffer.concat([Buffer.from([(nal[0]! & 0xe0) | 28, (offset === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | (nal[0]! & 0x1f)]), nal.subarray(offset, end)]));
    }
  }
  return payloads;
}

function toAnnexB(packets: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const packet of packets) {
    const payload = packet.subarray(12);
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
      throw new Error(`unexpected packet type ${type}`);
    }
  }
  return Buffer.concat(parts);
}

/** ffmpeg -xerror over the depacketized stream: frames decoded and what it printed. */
function decode(packets: Buffer[]): { status: number | null; frames: number; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'h264-slices-'));
  try {
    const file = join(dir, 'out.h264');
    writeFileSync(file, toAnnexB(packets));
    const run = spawnSync('/usr/bin/ffmpeg', ['-v', 'error', '-xerror', '-f', 'h264', '-i', file, '-f', 'framemd5', '-'], { encoding: 'utf8' });
    return { status: run.status, frames: run.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The camera's packets: SPS and PPS before every IDR slice, as GStreamer's payloader sends them. */
async function gstreamerStyle(): Promise<{ packets: Buffer[]; frames: number; keyframes: number; sps: Buffer; pps: Buffer }> {
  const units = await ScriptedCamera.accessUnits(video);
  // The clip's own SPS/PPS: a camera's DESCRIBE would give the same.
  const camera = await ScriptedCamera.start({ video });
  await camera.stop();
  const { sps, pps } = (camera as unknown as { clip: { sps: Buffer; pps: Buffer } }).clip;
  const packets: Buffer[] = [];
  let seq = 65_000; // wraps on the way
  let ts = 1_000;
  let keyframes = 0;
  for (const unit of units) {
    if (unit.keyframe) keyframes += 1;
    const payloads = packetize(unit.keyframe ? unit.nals.flatMap((slice) => [sps, pps, slice]) : unit.nals);
    payloads.forEach((payload, index) => packets.push(rtp(seq++, ts, index === payloads.length - 1, payload)));
    ts += 3600;
  }
  return { packets, frames: units.length, keyframes, sps, pps };
}

describe('H264RtpRewriter and multi-slice keyframes with SPS/PPS before every slice (issue 19)', function () {
  this.timeout(30_000);
  let clock = 0;
  const rewriter = () => new H264RtpRewriter({ ssrc: 0x0badcafe, payloadType: 102, now: () => clock });

  it('as the camera sends it, ffmpeg cuts each keyframe in two (why the rewriter steps in)', async () => {
    const camera = await gstreamerStyle();
    const raw = decode(camera.packets);
    expect(raw.status).to.not.equal(0);
    expect(raw.stderr).to.match(/concealing|corrupt|error/i);
  });

  it('leaves the repeated SPS/PPS out: sequence numbers stay consecutive and ffmpeg decodes every frame without an error', async () => {
    const camera = await gstreamerStyle();
    const relay = rewriter();
    const out: Buffer[] = [];
    for (const packet of camera.packets) {
      clock += 1;
      out.push(...relay.push(packet));
    }
    expect(relay.stats.parameterSetsRemoved).to.equal(2 * camera.keyframes);
    // The first SPS/PPS come before forwarding starts (at the IDR), which then inserts them once.
    expect(relay.stats).to.include({ parameterSetsInserted: 1, dropped: 2 + 2 * camera.keyframes });
    expect(out.length).to.equal(camera.packets.length - 2 - 2 * camera.keyframes + 1);
    for (let i = 1; i < out.length; i++) expect((out[i]!.readUInt16BE(2) - out[i - 1]!.readUInt16BE(2)) & 0xffff, `packet ${i}`).to.equal(1);
    const decoded = decode(out);
    expect(decoded.stderr).to.equal('');
    expect(decoded.status).to.equal(0);
    expect(decoded.frames).to.equal(camera.frames);
  });

  it('a packet arriving late across a removed SPS keeps the number it would have had; a copy of a removed one is left out too', async () => {
    const camera = await gstreamerStyle();
    // The first keyframe: [SPS][PPS][slice 1 ...][SPS][PPS][slice 2 ...]. Hold the last packet of
    // slice 1 back until after the second SPS/PPS, and send the second SPS twice.
    const secondSps = camera.packets.findIndex((packet, i) => i > 0 && packet[12] === camera.sps[0] && packet.subarray(12).equals(camera.sps));
    expect(secondSps).to.be.greaterThan(2);
    const input = [...camera.packets];
    const [late] = input.splice(secondSps - 1, 1);
    input.splice(secondSps + 1, 0, late!, camera.packets[secondSps]!);
    const relay = rewriter();
    const out: Buffer[] = [];
    for (const packet of input) out.push(...relay.push(packet));
    const sorted = [...out].sort((a, b) => ((a.readUInt16BE(2) - out[0]!.readUInt16BE(2)) & 0xffff) - ((b.readUInt16BE(2) - out[0]!.readUInt16BE(2)) & 0xffff));
    for (let i = 1; i < sorted.length; i++) expect((sorted[i]!.readUInt16BE(2) - sorted[i - 1]!.readUInt16BE(2)) & 0xffff, `packet ${i}`).to.equal(1);
    // The copy of the removed SPS is left out as well.
    expect(relay.stats).to.include({ parameterSetsRemoved: 2 * camera.keyframes, parameterSetsInserted: 1, dropped: 2 + 2 * camera.keyframes + 1 });
    expect(out.length).to.equal(camera.packets.length - 2 - 2 * camera.keyframes + 1);
    const decoded = decode(sorted);
    expect(decoded.stderr).to.equal('');
    expect(decoded.frames).to.equal(camera.frames);
  });
});
