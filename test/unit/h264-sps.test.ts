import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { decodeSpropParameterSets, parseH264Sps, type H264Sps } from '../../workers/h264Sps.ts';

// Vectors come from encoders that are not ours. The libx264 SPS were produced by ffmpeg 5.1.9
// (Debian 12, libx264) with `ffmpeg -f lavfi -i testsrc2=size=WxH:rate=R -frames:v 1 -c:v libx264
// <options> -f h264 -`, and every field checked here was read back with ffmpeg's own SPS parser
// (`-bsf:v trace_headers`). The camera SPS are the sprop-parameter-sets of published camera SDPs
// already used by test/unit/h264.test.ts, checked the same way.

type Expected = Omit<H264Sps, 'profileLevelId'> & { profileLevelId: string };

const encoderVectors: Array<{ source: string; sps: string; expected: Partial<Expected> }> = [
  {
    source: 'libx264 -profile:v high 1920x1080@25 (8 lines cropped from 1088)',
    sps: 'Z2QAKKzZQHgCJ+XARAAAAwAEAAADAMg8YMZY',
    expected: { profileIdc: 100, constraintFlags: 0, levelIdc: 40, profileLevelId: '640028', width: 1920, height: 1080, frameMbsOnly: true, fps: 25, maxNumReorderFrames: 2 },
  },
  {
    source: 'libx264 -profile:v main 1280x720@30',
    sps: 'Z01AH+ygKALdgIgAAAMACAAAAwHgeMGMsA==',
    expected: { profileIdc: 77, constraintFlags: 0x40, levelIdc: 31, profileLevelId: '4d401f', width: 1280, height: 720, frameMbsOnly: true, fps: 30, maxNumReorderFrames: 2 },
  },
  {
    source: 'libx264 -profile:v baseline 640x480@25 (pic_order_cnt_type 2)',
    sps: 'Z0LAHtkAoD2wEQAAAwABAAADADIPFi5I',
    expected: { profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30, profileLevelId: '42c01e', width: 640, height: 480, fps: 25, maxNumReorderFrames: 0 },
  },
  {
    source: 'libx264 -profile:v baseline 352x288@15',
    sps: 'Z0LADNkBYJbARAAAAwAEAAADAHg8UKkg',
    expected: { profileLevelId: '42c00c', width: 352, height: 288, fps: 15, maxNumReorderFrames: 0 },
  },
  {
    source: 'libx264 interlaced 720x576@25 (frame_mbs_only_flag 0: 18 map units of 32 lines)',
    sps: 'Z2QAHqzZQLQk2AiAAAADAIAAABkPihTL',
    expected: { profileLevelId: '64001e', width: 720, height: 576, frameMbsOnly: false, fps: 25 },
  },
  {
    source: 'libx264 -profile:v high444 yuv444p 1918x1078 (chroma_format_idc 3: crop units of 1 sample)',
    sps: 'Z/QAKJGbKA8ARPcXgIgAAAMACAAAAwGQeMGMsA==',
    expected: { profileIdc: 244, profileLevelId: 'f40028', width: 1918, height: 1078, frameMbsOnly: true },
  },
  {
    source: 'libx264 -profile:v high422 yuv422p 1918x1078 (chroma_format_idc 2: crop units 2 x 1)',
    sps: 'Z3oAKLzZQHgCJ6i8BEAAAAMAQAAADIPGDGWA',
    expected: { profileIdc: 122, profileLevelId: '7a0028', width: 1918, height: 1078 },
  },
  {
    source: 'libx264 high 3840x2160 at 30000/1001',
    sps: 'Z2QAM6zZQDwAQ+wEQAAA+kAAOpgDxgxlgA==',
    expected: { profileLevelId: '640033', width: 3840, height: 2160, fps: 30000 / 1001 },
  },
  {
    source: 'libx264 main nal-hrd=cbr, SAR 7:5 (Extended_SAR and hrd_parameters in the VUI)',
    sps: 'Z01AH+ygKALd/4ADgAKIAAADAAgAAAMBkwMAB6EgAPQnNhgDxgxlgA==',
    expected: { profileLevelId: '4d401f', width: 1280, height: 720, fps: 25, maxNumReorderFrames: 2 },
  },
  {
    source: 'libx264 high -tune zerolatency with BT.709 colour description',
    sps: 'Z2QAH6yyAKALdgLUBAQFAAADAAEAAAMAMo8YMkg=',
    expected: { profileLevelId: '64001f', width: 1280, height: 720, fps: 25, maxNumReorderFrames: 0 },
  },
];

const cameraVectors: Array<{ source: string; sps: string; expected: Partial<Expected> }> = [
  {
    source: 'Hikvision Streaming/Channels/101 (High 4.0, 1080p, 24 fps in the VUI)',
    sps: 'Z2QAKKzZQHgCJ+WEAAADAAQAAAMAwjxgySA=',
    expected: { profileLevelId: '640028', width: 1920, height: 1080, frameMbsOnly: true, fps: 24, maxNumReorderFrames: 0 },
  },
  {
    source: 'Axis axis-media/media.amp (Main 4.1, QCIF 176x144)',
    sps: 'Z00AKeKQWJ2AtwEBAaQeJEVA',
    expected: { profileLevelId: '4d0029', width: 176, height: 144, maxNumReorderFrames: 0 },
  },
  {
    source: 'Dahua-style SDP (Main 4.2, 1080p, 15000/1001 fps, no bitstream_restriction)',
    sps: 'Z00AKpY1QPAET8s3AQEBQAAA+kAAHUwB',
    expected: { profileLevelId: '4d002a', width: 1920, height: 1080, fps: 15000 / 1001, maxNumReorderFrames: undefined },
  },
  {
    source: 'LIVE555 testOnDemandRTSPServer (Main 4.1, 720p)',
    sps: 'Z00AKeKQCgC3YC3AQEBpB4kRUA==',
    expected: { profileLevelId: '4d0029', width: 1280, height: 720 },
  },
  {
    source: 'GStreamer openh264enc main 3840x2160',
    sps: 'Z01MM4yNQB4AIfQDwiEagA==',
    expected: { profileIdc: 77, constraintFlags: 0x4c, levelIdc: 51, width: 3840, height: 2160 },
  },
];

function check(sps: H264Sps, expected: Partial<Expected>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (key === 'fps' && typeof value === 'number') expect(sps.fps, key).to.be.closeTo(value, 1e-9);
    else expect(sps[key as keyof H264Sps], key).to.equal(value);
  }
}

describe('parseH264Sps: SPS from libx264 (ffmpeg)', () => {
  for (const row of encoderVectors) {
    it(row.source, () => check(parseH264Sps(Buffer.from(row.sps, 'base64')), row.expected));
  }
});

describe('parseH264Sps: SPS from camera SDPs', () => {
  for (const row of cameraVectors) {
    it(row.source, () => check(parseH264Sps(Buffer.from(row.sps, 'base64')), row.expected));
  }
});

/** Every SPS (type 7) NAL unit of an Annex B stream. */
function spsUnits(annexB: Buffer): Buffer[] {
  const units: Buffer[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 3 <= annexB.length; i++) {
    if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 1) starts.push(i + 3);
  }
  starts.forEach((start, n) => {
    let end = n + 1 < starts.length ? starts[n + 1]! - 3 : annexB.length;
    while (end > start && annexB[end - 1] === 0) end--;
    if ((annexB[start]! & 0x1f) === 7) units.push(annexB.subarray(start, end));
  });
  return units;
}

describe('parseH264Sps: SPS encoded now by the ffmpeg on this machine', function () {
  const ffmpeg = '/usr/bin/ffmpeg';
  const runs = [
    { size: '1920x1080', profile: 'high', idc: 100 },
    { size: '1280x720', profile: 'main', idc: 77 },
    { size: '854x480', profile: 'baseline', idc: 66 },
    { size: '1366x768', profile: 'high', idc: 100 },
  ];
  for (const run of runs) {
    it(`libx264 ${run.profile} ${run.size}`, function () {
      if (!existsSync(ffmpeg)) this.skip();
      const result = spawnSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${run.size}:rate=25`, '-frames:v', '1', '-c:v', 'libx264', '-profile:v', run.profile, '-f', 'h264', '-'], { maxBuffer: 64 << 20 });
      if (result.status !== 0 || !result.stdout.length) this.skip(); // an ffmpeg without libx264
      const [nal] = spsUnits(result.stdout);
      expect(nal, 'an SPS NAL unit in the output').to.not.equal(undefined);
      const sps = parseH264Sps(nal!);
      const [width, height] = run.size.split('x').map(Number);
      expect([sps.width, sps.height]).to.deep.equal([width, height]);
      expect(sps.profileIdc).to.equal(run.idc);
      expect(sps.fps).to.equal(25);
      expect(sps.profileLevelId).to.equal(nal!.subarray(1, 4).toString('hex'));
    });
  }
});

/**
 * A tiny RBSP writer for syntax that libx264 never emits (SPS scaling lists, pic_order_cnt_type 1,
 * separate colour planes). The bytes it produced were checked once with ffmpeg's trace_headers,
 * which read back the same field values.
 */
function spsWriter() {
  const bits: number[] = [];
  const w = {
    u(n: number, value: number) {
      for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
      return w;
    },
    ue(value: number) {
      const code = value + 1;
      const length = Math.floor(Math.log2(code));
      return w.u(length, 0).u(length + 1, code);
    },
    se(value: number) {
      return w.ue(value > 0 ? 2 * value - 1 : -2 * value);
    },
    /** NAL header 0x67, RBSP trailing bits and emulation prevention (00 00 0x -> 00 00 03 0x). */
    nal(): Buffer {
      const all = [...bits, 1];
      while (all.length % 8) all.push(0);
      const out = [0x67];
      let zeros = 0;
      for (let i = 0; i < all.length; i += 8) {
        const byte = parseInt(all.slice(i, i + 8).join(''), 2);
        if (zeros >= 2 && byte <= 3) {
          out.push(3);
          zeros = 0;
        }
        out.push(byte);
        zeros = byte === 0 ? zeros + 1 : 0;
      }
      return Buffer.from(out);
    },
  };
  return w;
}

describe('parseH264Sps: syntax libx264 does not emit', () => {
  it('High with scaling lists (one list "use default" via nextScale 0), pic_order_cnt_type 1, field coding and cropping', () => {
    const w = spsWriter().u(8, 100).u(8, 0).u(8, 41).ue(0);
    w.ue(1).ue(0).ue(0).u(1, 0); // 4:2:0, 8 bit, no bypass
    w.u(1, 1); // seq_scaling_matrix_present_flag
    for (let i = 0; i < 8; i++) {
      if (i === 0) w.u(1, 1).se(-8); // nextScale becomes 0: use the default list
      else if (i === 6) {
        w.u(1, 1);
        for (let j = 0; j < 64; j++) w.se(j % 2 ? 3 : -2);
      } else w.u(1, 0);
    }
    w.ue(0).ue(1); // log2_max_frame_num_minus4, pic_order_cnt_type 1
    w.u(1, 0).se(-2).se(1).ue(3).se(2).se(-5).se(40);
    w.ue(4).u(1, 0).ue(44).ue(17); // refs, gaps, 45 MBs wide, 18 map units high
    w.u(1, 0).u(1, 1).u(1, 1); // frame_mbs_only 0, mb_adaptive_frame_field 1, direct_8x8 1
    w.u(1, 1).ue(4).ue(4).ue(0).ue(2); // crop 4+4 (x2 samples), bottom 2 (x4 lines)
    w.u(1, 0); // no VUI
    const nal = w.nal();
    expect(nal.toString('base64'), 'the bytes ffmpeg read back').to.equal('Z2QAKa2EQSmKYpimKYpimKYpimKYpimKYpimKYpimKYpimKYpimKYpimKYpimKZQqIQWBQKBaEnKW0A=');
    const sps = parseH264Sps(nal);
    expect(sps).to.deep.equal({ profileIdc: 100, constraintFlags: 0, levelIdc: 41, profileLevelId: '640029', width: 720 - 16, height: 576 - 8, frameMbsOnly: false });
  });

  it('High 4:4:4 with separate_colour_plane_flag (ChromaArrayType 0: crop units of 1 x 1 luma sample)', () => {
    const w = spsWriter().u(8, 244).u(8, 0).u(8, 40).ue(0);
    w.ue(3).u(1, 1).ue(2).ue(2).u(1, 0).u(1, 0); // 4:4:4, separate planes, 10 bit, no scaling
    w.ue(4).ue(2).ue(1).u(1, 0).ue(119).ue(67).u(1, 1).u(1, 1);
    w.u(1, 1).ue(1).ue(1).ue(3).ue(5); // crop 2 columns, 8 lines
    w.u(1, 0);
    expect(w.nal().toString('base64'), 'the bytes ffmpeg read back').to.equal('Z/QAKJLYVoB4AidIhkA=');
    expect(parseH264Sps(w.nal())).to.include({ width: 1920 - 2, height: 1088 - 8, profileLevelId: 'f40028' });
  });
});

describe('parseH264Sps: hostile input', () => {
  it('rejects a NAL unit that is not an SPS, or too short', () => {
    expect(() => parseH264Sps(Buffer.from('68ce3c80', 'hex'))).to.throw(Error, /^invalid SPS: NAL unit type 8/);
    expect(() => parseH264Sps(Buffer.from('e7640028', 'hex'))).to.throw(Error, /^invalid SPS: forbidden_zero_bit/);
    expect(() => parseH264Sps(Buffer.alloc(0))).to.throw(Error, /^invalid SPS/);
    expect(() => parseH264Sps(Buffer.from('6764', 'hex'))).to.throw(Error, /^invalid SPS/);
  });

  it('throws on every truncation before the VUI; a cut inside the VUI keeps the picture size', () => {
    const full = Buffer.from('Z2QAKKzZQHgCJ+XARAAAAwAEAAADAMg8YMZY', 'base64');
    let returned = 0;
    for (let length = 0; length < full.length; length++) {
      try {
        const sps = parseH264Sps(full.subarray(0, length));
        expect([sps.width, sps.height]).to.deep.equal([1920, 1080]);
        returned++;
      } catch (error) {
        expect((error as Error).message).to.match(/^invalid SPS: /);
      }
    }
    expect(returned).to.be.greaterThan(0);
    // The first 9 bytes end inside the cropping fields, which no decoder can do without.
    expect(() => parseH264Sps(full.subarray(0, 9))).to.throw(/^invalid SPS: truncated/);
  });

  it('rejects an Exp-Golomb code longer than 32 bits and oversized pictures', () => {
    expect(() => parseH264Sps(Buffer.from([0x67, 0x42, 0, 0x1e, 0, 0, 0, 0, 0, 0, 0x80]))).to.throw(/^invalid SPS: /);
    const huge = spsWriter().u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(2).ue(1).u(1, 0).ue(100000).ue(10).u(1, 1).u(1, 1).u(1, 0).u(1, 0);
    expect(() => parseH264Sps(huge.nal())).to.throw(/pic_width_in_mbs_minus1 100000 out of range/);
  });

  it('2000 random buffers (seeded) either parse or throw an Error, quickly', () => {
    let seed = 0x5eed1234;
    const random = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const started = Date.now();
    let parsed = 0;
    for (let n = 0; n < 2000; n++) {
      const buffer = Buffer.alloc(Math.floor(random() * 64));
      for (let i = 0; i < buffer.length; i++) buffer[i] = Math.floor(random() * 256);
      // Half of them get a valid SPS header byte so that the body parser is exercised.
      if (n % 2 === 0 && buffer.length > 0) buffer[0] = 0x67;
      try {
        const sps = parseH264Sps(buffer);
        expect(sps.width).to.be.within(1, 32768);
        expect(sps.height).to.be.within(1, 65536);
        parsed++;
      } catch (error) {
        expect(error).to.be.instanceOf(Error);
        expect((error as Error).message).to.match(/^invalid SPS: /);
      }
    }
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(parsed).to.be.lessThan(2000);
  });
});

describe('decodeSpropParameterSets (RFC 6184 §8.1)', () => {
  it('decodes SPS and PPS of a camera SDP', () => {
    const [sps, pps, ...rest] = decodeSpropParameterSets('Z2QAKKzZQHgCJ+WEAAADAAQAAAMAwjxgySA=,aO48sA==');
    expect(rest).to.have.length(0);
    expect(sps![0]! & 0x1f).to.equal(7);
    expect(pps!.toString('hex')).to.equal('68ee3cb0');
    expect(parseH264Sps(sps!).width).to.equal(1920);
  });

  it('skips empty and invalid entries, tolerates spaces and missing padding', () => {
    const nals = decodeSpropParameterSets(' Z0LAHtkAoD2wEQAAAwABAAADADIPFi5I ,, not base64!,aM48gA,A');
    expect(nals.map((n) => n.toString('hex'))).to.deep.equal([Buffer.from('Z0LAHtkAoD2wEQAAAwABAAADADIPFi5I', 'base64').toString('hex'), '68ce3c80']);
    expect(decodeSpropParameterSets('')).to.deep.equal([]);
  });
});
