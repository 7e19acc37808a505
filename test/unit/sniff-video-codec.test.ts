import { expect } from 'chai';
import { sniffVideoCodec } from '../../workers/sniffVideoCodec.ts';

// Vectors from encoders that are not ours: the H.264 SPS/PPS of an Axis camera's SDP
// (sprop-parameter-sets, as in test/unit/h264.test.ts) and the H.265 VPS/SPS/PPS that libx265
// (through ffmpeg 5.1, 320x240) writes.
const axisSps = Buffer.from('Z00AKeKQWJ2AtwEBAaQeJEVA', 'base64');
const h264Pps = Buffer.from('aO48gA==', 'base64');
const hevcVps = Buffer.from('QAEMAf//BAgAAAMAnggAAAMAADyVmAk=', 'base64');
const hevcSps = Buffer.from('QgEBBAgAAAMAnggAAAMAADyQAUEB4ssrNJJleAtwICAAQAAAAwBAAAAGQg==', 'base64');
const hevcPps = Buffer.from('RAHBcoYMRiQ=', 'base64');

function stapA(...nals: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x78]), ...nals.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal])]);
}
function hevcAp(...nals: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x60, 0x01]), ...nals.flatMap((nal) => [Buffer.from([nal.length >> 8, nal.length & 0xff]), nal])]);
}

describe('sniffVideoCodec (what an RTP payload says its codec is)', () => {
  const rows: Array<{ name: string; payload: Buffer; expected: 'h264' | 'h265' | undefined }> = [
    { name: 'H.264 SPS, single NAL unit (Axis)', payload: axisSps, expected: 'h264' },
    { name: 'H.264 STAP-A with SPS and PPS', payload: stapA(axisSps, h264Pps), expected: 'h264' },
    { name: 'H.264 PPS alone says nothing', payload: h264Pps, expected: undefined },
    { name: 'H.264 IDR slice says nothing', payload: Buffer.from([0x65, 0x88, 0x84, 0x00, 0x33]), expected: undefined },
    { name: 'H.264 FU-A start of an IDR says nothing', payload: Buffer.from([0x7c, 0x85, 0x88, 0x84]), expected: undefined },
    { name: 'H.264 SPS truncated after profile-level-id', payload: axisSps.subarray(0, 4), expected: undefined },
    { name: 'H.265 VPS (Hikvision)', payload: hevcVps, expected: 'h265' },
    { name: 'H.265 SPS', payload: hevcSps, expected: 'h265' },
    { name: 'H.265 PPS', payload: hevcPps, expected: 'h265' },
    { name: 'H.265 aggregation packet starting with the VPS', payload: hevcAp(hevcVps, hevcSps, hevcPps), expected: 'h265' },
    // An H.265 IDR_W_RADL header (type 19) reads as an H.264 SEI: no verdict either way.
    { name: 'H.265 IDR slice says nothing', payload: Buffer.from([0x26, 0x01, 0xaf, 0x00]), expected: undefined },
    { name: 'H.265 VPS of another layer (nuh_layer_id 1) is not taken', payload: Buffer.from([0x40, 0x09, 0x0c, 0x01]), expected: undefined },
    { name: 'forbidden bit set', payload: Buffer.from([0xe7, 0x42, 0x00, 0x1e]), expected: undefined },
    { name: 'MJPEG (RFC 2435 header) says nothing', payload: Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x28, 0x1e]), expected: undefined },
    { name: 'empty', payload: Buffer.alloc(0), expected: undefined },
    { name: 'STAP-A whose size runs past the end', payload: Buffer.from([0x78, 0x00, 0x40, 0x67, 0x42]), expected: undefined },
  ];
  for (const row of rows) {
    it(`${row.name} -> ${row.expected ?? 'undefined'}`, () => {
      expect(sniffVideoCodec(row.payload)).to.equal(row.expected);
    });
  }
});
