import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { h264SliceType, isBSlice } from '../../workers/relay/sliceType.ts';

/** NAL units of an Annex-B stream (start codes removed). */
function nalUnits(stream: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < stream.length; i++) if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) starts.push(i + 3);
  return starts.map((start, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : stream.length;
    while (end > start && stream[end - 1] === 0) end--;
    return stream.subarray(start, end);
  });
}

/** A libx264 clip from ffmpeg (an encoder that is not ours), with or without B-frames. */
function clip(bframes: number): Buffer {
  return execFileSync('/usr/bin/ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-frames:v', '50',
    '-c:v', 'libx264', '-profile:v', bframes > 0 ? 'main' : 'baseline', '-bf', String(bframes), '-g', '25', '-f', 'h264', '-',
  ]);
}

describe('H.264 slice type from an RTP payload', () => {
  it('finds the B slices libx264 writes, in single NAL packets and FU-A first fragments', () => {
    for (const [bframes, expectB] of [[2, true], [0, false]] as const) {
      const vcl = nalUnits(clip(bframes)).filter((nal) => [1, 5].includes(nal[0]! & 0x1f));
      expect(vcl.length).to.be.at.least(50);
      const types = vcl.map((nal) => h264SliceType(nal));
      expect(types.every((t) => t !== undefined && t <= 9), String(types)).to.equal(true);
      expect(types.some(isBSlice), `-bf ${bframes}`).to.equal(expectB);
      // IDR slices are I (2 or 7).
      vcl.forEach((nal, i) => (nal[0]! & 0x1f) === 5 && expect(types[i]! % 5).to.equal(2));
      // The same first bytes as an FU-A start fragment (RFC 6184 §5.8): indicator, header with S set.
      const fuA = vcl.map((nal) => Buffer.concat([Buffer.from([(nal[0]! & 0xe0) | 28, 0x80 | (nal[0]! & 0x1f)]), nal.subarray(1, 40)]));
      expect(fuA.map((p) => h264SliceType(p))).to.deep.equal(types);
    }
  });

  it('says nothing for non-slices, continuation fragments and truncated headers', () => {
    expect(h264SliceType(Buffer.from([0x67, 0x42]))).to.equal(undefined); // SPS
    expect(h264SliceType(Buffer.from([0x7c, 0x05, 0x88]))).to.equal(undefined); // FU-A, not the first fragment
    expect(h264SliceType(Buffer.from([0x41]))).to.equal(undefined);
    expect(h264SliceType(Buffer.from([0x41, 0x00, 0x00]))).to.equal(undefined);
    expect(h264SliceType(Buffer.alloc(0))).to.equal(undefined);
  });
});
