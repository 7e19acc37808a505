import { expect } from 'chai';
import { isHighProfile, parseFfprobeHexdump, profileLevelIdFromExtradata, profileLevelIdFromName } from '../../workers/h264.ts';


// Table tests of the SPS / profile-level-id helpers that probeCamera uses
// (fromSps = profileLevelIdFromExtradata(parseFfprobeHexdump(stream.extradata)),
//  else profileLevelIdFromName(stream.profile, stream.level)).
//
// Vectors come from encoders that are not ours:
//  - sprop-parameter-sets of published camera SDPs (Axis, Hikvision, a Dahua-style SDP, LIVE555);
//  - GStreamer 1.22 openh264enc (Cisco OpenH264) through rtph264pay, profiles and levels chosen
//    by the encoder for 640x480 / 1280x720 / 1920x1080 / 3840x2160;
//  - libx264 through ffmpeg 5.1 (mp4 -> avcC extradata, mpegts -> Annex B extradata);
//  - ffprobe 5.1 `-show_streams -show_data -of json` output (the `extradata` hexdump) for an RTSP
//    stub serving those SDPs, i.e. exactly the text probeCamera parses.

/** What ffmpeg's RTP depacketiser makes of sprop-parameter-sets: each NAL after 00 00 00 01. */
function annexBFromSprop(sprop: string): Buffer {
  return Buffer.concat(sprop.split(',').flatMap((nal) => [Buffer.from([0, 0, 0, 1]), Buffer.from(nal, 'base64')]));
}

/** avcC (ISO/IEC 14496-15) built around one SPS and one PPS, as an mp4 muxer would. */
function avcCFromSprop(sprop: string): Buffer {
  const [sps, pps] = sprop.split(',').map((nal) => Buffer.from(nal, 'base64')) as [Buffer, Buffer];
  const length = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1]), length(sps.length), sps, Buffer.from([1]), length(pps.length), pps]);
}

/** profile_idc, constraint_set flags and level_idc read back from a profile-level-id. */
function decode(profileLevelId: string): { profileIdc: number; constraints: number; level: number; constrainedBaseline: boolean } {
  const profileIdc = parseInt(profileLevelId.slice(0, 2), 16);
  const constraints = parseInt(profileLevelId.slice(2, 4), 16);
  const level = parseInt(profileLevelId.slice(4, 6), 16) / 10;
  // RFC 6184 Table 5: profile_idc 66 with constraint_set1_flag is Constrained Baseline (77 and 88 rows not needed here).
  const constrainedBaseline = profileIdc === 66 && (constraints & 0x40) !== 0;
  return { profileIdc, constraints, level, constrainedBaseline };
}

const sdpVectors: Array<{ source: string; sprop: string; expected: string; profile: string; level: number; constrainedBaseline?: boolean }> = [
  { source: 'sprop from the task brief (Baseline 4.1)', sprop: 'Z0IAKeKQFAe2AtwEBAaQeJEV,aM48gA==', expected: '420029', profile: 'Baseline', level: 4.1 },
  { source: 'Axis (axis-media/media.amp, profile-level-id=4d0029)', sprop: 'Z00AKeKQWJ2AtwEBAaQeJEVA,aO48gA==', expected: '4d0029', profile: 'Main', level: 4.1 },
  { source: 'Hikvision (Streaming/Channels/101, profile-level-id=640028)', sprop: 'Z2QAKKzZQHgCJ+WEAAADAAQAAAMAwjxgySA=,aO48sA==', expected: '640028', profile: 'High', level: 4.0 },
  // The SDP says profile-level-id=4D0028, the SPS itself says level 4.2: the SPS wins.
  { source: 'Dahua-style SDP (declares 4D0028, SPS is 4d002a)', sprop: 'Z00AKpY1QPAET8s3AQEBQAAA+kAAHUwB,aO48gA==', expected: '4d002a', profile: 'Main', level: 4.2 },
  { source: 'LIVE555 testOnDemandRTSPServer (profile-level-id=4D0029)', sprop: 'Z00AKeKQCgC3YC3AQEBpB4kRUA==,aO48gA==', expected: '4d0029', profile: 'Main', level: 4.1 },
  { source: 'LIVE555 (profile-level-id=64001F)', sprop: 'Z2QAH6wsaoFAFum4CAgIEA==,aO48sA==', expected: '64001f', profile: 'High', level: 3.1 },
  { source: 'GStreamer openh264enc baseline 640x480', sprop: 'Z0LAHoyNQFAe0A8IhGo=,aM48gA==', expected: '42c01e', profile: 'Constrained Baseline', level: 3.0, constrainedBaseline: true },
  { source: 'GStreamer openh264enc main 640x480', sprop: 'Z01MHoyNQFAe0A8IhGo=,aM48gA==', expected: '4d4c1e', profile: 'Main', level: 3.0 },
  { source: 'GStreamer openh264enc main 1280x720', sprop: 'Z01MH4yNQCgC3QDwiEag,aM48gA==', expected: '4d4c1f', profile: 'Main', level: 3.1 },
  { source: 'GStreamer openh264enc main 1920x1080', sprop: 'Z01MKIyNQDwBE/LAPCIRqA==,aM48gA==', expected: '4d4c28', profile: 'Main', level: 4.0 },
  { source: 'GStreamer openh264enc main 3840x2160', sprop: 'Z01MM4yNQB4AIfQDwiEagA==,aM48gA==', expected: '4d4c33', profile: 'Main', level: 5.1 },
  { source: 'GStreamer openh264enc high (constrained-high) 640x480', sprop: 'Z2QMHqwZGoCgPaAeEQjU,aM48gA==', expected: '640c1e', profile: 'High', level: 3.0 },
];

const profileNames: Record<number, string> = { 66: 'Baseline', 77: 'Main', 100: 'High' };

describe('H.264 profile-level-id from camera SDPs (sprop-parameter-sets)', () => {
  for (const row of sdpVectors) {
    it(`${row.source} -> ${row.expected}`, () => {
      const fromAnnexB = profileLevelIdFromExtradata(annexBFromSprop(row.sprop));
      expect(fromAnnexB).to.equal(row.expected);
      expect(profileLevelIdFromExtradata(avcCFromSprop(row.sprop))).to.equal(row.expected);
      const decoded = decode(row.expected);
      expect(decoded.level).to.equal(row.level);
      expect(decoded.constrainedBaseline).to.equal(row.constrainedBaseline ?? false);
      expect(row.profile).to.include(profileNames[decoded.profileIdc]!);
      expect(isHighProfile(row.expected)).to.equal(decoded.profileIdc >= 100);
    });
  }
});

// ffprobe's extradata exactly as printed (JSON string values), with what ffprobe said besides.
const ffprobeVectors: Array<{ source: string; dump: string; bytes: number; expected: string; ffprobeProfile: string | undefined; ffprobeLevel: number }> = [
  {
    source: 'ffprobe over RTSP, Hikvision SDP (Annex B, 4-byte start codes)',
    dump: "\n00000000: 0000 0001 6764 0028 acd9 4078 0227 e584  ....gd.(..@x.'..\n00000010: 0000 0300 0400 0003 00c2 3c60 c920 0000  ..........<`. ..\n00000020: 0001 68ee 3cb0                           ..h.<.\n",
    bytes: 38,
    expected: '640028',
    ffprobeProfile: undefined,
    ffprobeLevel: -99,
  },
  {
    source: 'ffprobe over RTSP, Axis SDP',
    dump: '\n00000000: 0000 0001 674d 0029 e290 589d 80b7 0101  ....gM.)..X.....\n00000010: 01a4 1e24 4540 0000 0001 68ee 3c80       ...$E@....h.<.\n',
    bytes: 30,
    expected: '4d0029',
    ffprobeProfile: undefined,
    ffprobeLevel: -99,
  },
  {
    source: 'ffprobe over RTSP, GStreamer openh264 baseline SDP',
    dump: '\n00000000: 0000 0001 6742 c01e 8c8d 4050 1ed0 0f08  ....gB....@P....\n00000010: 846a 0000 0001 68ce 3c80                 .j....h.<.\n',
    bytes: 26,
    expected: '42c01e',
    ffprobeProfile: undefined,
    ffprobeLevel: -99,
  },
  {
    source: 'ffprobe over RTSP, Dahua-style SDP',
    dump: '\n00000000: 0000 0001 674d 002a 9635 40f0 044f cb37  ....gM.*.5@..O.7\n00000010: 0101 0140 0000 fa40 001d 4c01 0000 0001  ...@...@..L.....\n00000020: 68ee 3c80                                h.<.\n',
    bytes: 36,
    expected: '4d002a',
    ffprobeProfile: undefined,
    ffprobeLevel: -99,
  },
  {
    source: 'libx264 baseline 3.0, mp4 (avcC)',
    dump: '\n00000000: 0142 c01e ffe1 0018 6742 c01e d901 41fb  .B......gB....A.\n00000010: 0110 0000 0300 1000 0003 0320 f162 e480  ........... .b..\n00000020: 0100 0568 cb83 cb20                      ...h... \n',
    bytes: 40,
    expected: '42c01e',
    ffprobeProfile: 'Constrained Baseline',
    ffprobeLevel: 30,
  },
  {
    source: 'libx264 baseline 3.0, mpegts (Annex B, 3-byte start codes)',
    dump: '\n00000000: 0000 0167 42c0 1ed9 0141 fb01 1000 0003  ...gB....A......\n00000010: 0010 0000 0303 20f1 62e4 8000 0000 0168  ...... .b......h\n00000020: cb83 cb20                                ... \n',
    bytes: 36,
    expected: '42c01e',
    ffprobeProfile: 'Constrained Baseline',
    ffprobeLevel: 30,
  },
  {
    source: 'libx264 baseline 3.1, mp4 (avcC)',
    dump: '\n00000000: 0142 c01f ffe1 0018 6742 c01f d901 41fb  .B......gB....A.\n00000010: 0110 0000 0300 1000 0003 0320 f183 2480  ........... ..$.\n00000020: 0100 0568 cb83 cb20                      ...h... \n',
    bytes: 40,
    expected: '42c01f',
    ffprobeProfile: 'Constrained Baseline',
    ffprobeLevel: 31,
  },
  {
    source: 'libx264 main 3.1, mpegts',
    dump: '\n00000000: 0000 0167 4d40 1fec a0a0 fd80 8800 0003  ...gM@..........\n00000010: 0008 0000 0301 9078 c18c b000 0000 0168  .......x.......h\n00000020: ebe3 cb20                                ... \n',
    bytes: 36,
    expected: '4d401f',
    ffprobeProfile: 'Main',
    ffprobeLevel: 31,
  },
  {
    source: 'libx264 main 4.0, mp4 (avcC)',
    dump: '\n00000000: 014d 4028 ffe1 0018 674d 4028 eca0 a0fd  .M@(....gM@(....\n00000010: 8088 0000 0300 0800 0003 0190 78c1 8cb0  ............x...\n00000020: 0100 0568 ebe3 cb20                      ...h... \n',
    bytes: 40,
    expected: '4d4028',
    ffprobeProfile: 'Main',
    ffprobeLevel: 40,
  },
  {
    source: 'libx264 high 4.1, mp4 (avcC, odd length)',
    dump: '\n00000000: 0164 0029 ffe1 0019 6764 0029 acd9 4141  .d.)....gd.)..AA\n00000010: fb01 1000 0003 0010 0000 0303 20f1 8319  ............ ...\n00000020: 6001 0006 68eb e3cb 22c0 fdf8 f800       `...h...".....\n',
    bytes: 46,
    expected: '640029',
    ffprobeProfile: 'High',
    ffprobeLevel: 41,
  },
  {
    source: 'libx264 high 4.1, mpegts',
    dump: '\n00000000: 0000 0167 6400 29ac d941 41fb 0110 0000  ...gd.)..AA.....\n00000010: 0300 1000 0003 0320 f183 1960 0000 0001  ....... ...`....\n00000020: 68eb e3cb 22c0                           h...".\n',
    bytes: 38,
    expected: '640029',
    ffprobeProfile: 'High',
    ffprobeLevel: 41,
  },
  {
    source: 'libx264 high 5.1, mp4 (avcC)',
    dump: '\n00000000: 0164 0033 ffe1 0019 6764 0033 acd9 4141  .d.3....gd.3..AA\n00000010: fb01 1000 0003 0010 0000 0303 20f1 8319  ............ ...\n00000020: 6001 0006 68eb e3cb 22c0 fdf8 f800       `...h...".....\n',
    bytes: 46,
    expected: '640033',
    ffprobeProfile: 'High',
    ffprobeLevel: 51,
  },
  {
    source: 'libx264 high 5.1, mpegts',
    dump: '\n00000000: 0000 0167 6400 33ac d941 41fb 0110 0000  ...gd.3..AA.....\n00000010: 0300 1000 0003 0320 f183 1960 0000 0001  ....... ...`....\n00000020: 68eb e3cb 22c0                           h...".\n',
    bytes: 38,
    expected: '640033',
    ffprobeProfile: 'High',
    ffprobeLevel: 51,
  },
];

describe('H.264 profile-level-id from ffprobe extradata hexdumps', () => {
  for (const row of ffprobeVectors) {
    it(`${row.source} -> ${row.expected}`, () => {
      const bytes = parseFfprobeHexdump(row.dump);
      expect(bytes.length).to.equal(row.bytes);
      // The hexdump's ASCII column is not read as hex.
      expect(bytes.toString('hex')).to.equal(
        row.dump
          .split('\n')
          .filter(Boolean)
          .map((line) => line.slice(10, 49).replace(/\s+/g, ''))
          .join(''),
      );
      expect(profileLevelIdFromExtradata(bytes)).to.equal(row.expected);
    });
  }

  it('libx264 constrained baseline carries constraint_set0 and set1 (0xc0)', () => {
    const id = profileLevelIdFromExtradata(parseFfprobeHexdump(ffprobeVectors[4]!.dump))!;
    expect(decode(id)).to.deep.equal({ profileIdc: 66, constraints: 0xc0, level: 3, constrainedBaseline: true });
  });

  it('parses a Windows-style dump and trailing spaces', () => {
    const dump = '00000000: 0000 0001 6742 c01e 8c8d 4050 1ed0 0f08  ....gB....@P....\r\n00000010: 846a 0000 0001 68ce 3c80                 .j....h.<.   \r\n';
    expect(parseFfprobeHexdump(dump).toString('hex')).to.equal('000000016742c01e8c8d40501ed00f08846a0000000168ce3c80');
  });
});

describe('H.264 malformed extradata', () => {
  const rows: Array<{ name: string; bytes: number[] | Buffer; expected: string | undefined }> = [
    { name: 'empty', bytes: [], expected: undefined },
    { name: 'one byte', bytes: [1], expected: undefined },
    { name: 'avcC truncated after the profile byte', bytes: [1, 0x64, 0x00], expected: undefined },
    { name: 'avcC header only (4 bytes) is enough for the three bytes', bytes: [1, 0x64, 0x00, 0x28], expected: '640028' },
    { name: 'start code and SPS header only', bytes: [0, 0, 0, 1, 0x67], expected: undefined },
    { name: 'SPS truncated inside profile-level-id', bytes: [0, 0, 1, 0x67, 0x64, 0x00], expected: undefined },
    { name: 'SPS truncated right after level_idc (3-byte start code)', bytes: [0, 0, 1, 0x67, 0x64, 0x00, 0x28], expected: '640028' },
    { name: 'PPS only', bytes: annexBFromSprop('aM48gA=='), expected: undefined },
    { name: 'PPS before SPS', bytes: Buffer.concat([annexBFromSprop('aM48gA=='), annexBFromSprop('Z01MKIyNQDwBE/LAPCIRqA==')]), expected: '4d4c28' },
    { name: 'AUD and SEI before SPS', bytes: [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x06, 0x05, 0x01, 0x80, 0, 0, 1, 0x67, 0x4d, 0x00, 0x29, 0xe2], expected: '4d0029' },
    { name: 'SPS with nal_ref_idc 1 (0x27)', bytes: [0, 0, 0, 1, 0x27, 0x42, 0xe0, 0x1f, 0xda], expected: '42e01f' },
    { name: 'raw SPS without start code or avcC header', bytes: Buffer.from('Z0IAKeKQFAe2AtwEBAaQeJEV', 'base64'), expected: undefined },
    { name: 'garbage', bytes: Buffer.from('not h264 at all, just text'), expected: undefined },
    { name: 'HEVC VPS/SPS (type 32/33 NAL headers)', bytes: [0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0, 0, 0, 1, 0x42, 0x01, 0x01, 0x01], expected: undefined },
  ];
  for (const row of rows) {
    it(`${row.name} -> ${row.expected ?? 'undefined'}`, () => {
      expect(profileLevelIdFromExtradata(Buffer.from(row.bytes))).to.equal(row.expected);
    });
  }

  const dumps: Array<{ name: string; dump: string; hex: string }> = [
    // ffprobe over RTSP for an SDP without sprop-parameter-sets printed exactly this.
    { name: 'ffprobe for an SDP without sprop-parameter-sets', dump: '\n', hex: '' },
    { name: 'empty string', dump: '', hex: '' },
    { name: 'not a dump', dump: 'N/A\nerror: nothing here', hex: '' },
    { name: 'offset without bytes', dump: '00000000:\n', hex: '' },
    { name: 'truncated last line (odd byte)', dump: '00000000: 0000 0001 6742 c0                        ....gB.\n', hex: '000000016742c0' },
  ];
  for (const row of dumps) {
    it(`hexdump ${row.name} -> ${row.hex.length / 2} bytes`, () => {
      const bytes = parseFfprobeHexdump(row.dump);
      expect(bytes.toString('hex')).to.equal(row.hex);
    });
  }
  it('a truncated dump gives no profile-level-id', () => {
    expect(profileLevelIdFromExtradata(parseFfprobeHexdump('00000000: 0000 0001 6742 c0                        ....gB.\n'))).to.equal(undefined);
  });
});

describe('H.264 profile-level-id from ffprobe profile name and level (no SPS)', () => {
  const rows: Array<{ profile: string | undefined; level: number | undefined; expected: string; note?: string }> = [
    // ffprobe's own names, as printed for the libx264 files above.
    { profile: 'Constrained Baseline', level: 30, expected: '42e01e' },
    { profile: 'Constrained Baseline', level: 31, expected: '42e01f' },
    { profile: 'Baseline', level: 30, expected: '42001e' },
    { profile: 'Baseline', level: 41, expected: '420029' },
    { profile: 'Main', level: 31, expected: '4d001f' },
    { profile: 'Main', level: 40, expected: '4d0028' },
    { profile: 'High', level: 41, expected: '640029' },
    { profile: 'High', level: 51, expected: '640033' },
    { profile: 'main', level: 40, expected: '4d0028', note: 'case-insensitive' },
    // Fallbacks (documented in the code): unknown profile -> Constrained Baseline; level 3.1; clamped 1.0..5.2.
    { profile: undefined, level: undefined, expected: '42e01f', note: 'nothing known' },
    { profile: 'High 10', level: 40, expected: '42e028', note: 'unknown profile name' },
    { profile: 'High', level: undefined, expected: '64001f', note: 'level unknown' },
    { profile: 'Main', level: 9, expected: '4d000a', note: 'level 0.9 clamped to 1.0' },
    { profile: 'Main', level: 62, expected: '4d0034', note: 'level 6.2 clamped to 5.2' },
    {
      profile: undefined,
      level: -99,
      expected: '42e01f',
      note: "what ffprobe printed over RTSP for an SDP without sprop-parameter-sets (no profile key, level -99)",
    },
  ];
  for (const row of rows) {
    const title = `${row.profile ?? '(none)'} / ${row.level ?? '(none)'} -> ${row.expected}${row.note ? ` (${row.note})` : ''}`;
    it(title, () => {
      expect(profileLevelIdFromName(row.profile, row.level)).to.equal(row.expected);
    });
  }

  it('ffprobe names and levels agree with the SPS of the same libx264 files', () => {
    for (const row of ffprobeVectors.filter((vector) => vector.ffprobeProfile)) {
      const fromSps = profileLevelIdFromExtradata(parseFfprobeHexdump(row.dump))!;
      const fromName = profileLevelIdFromName(row.ffprobeProfile, row.ffprobeLevel);
      // Same profile_idc and level; the constraint flags are a property of the SPS only.
      expect(fromName.slice(0, 2), row.source).to.equal(fromSps.slice(0, 2));
      expect(fromName.slice(4), row.source).to.equal(fromSps.slice(4));
    }
  });
});

describe('isHighProfile', () => {
  const rows: Array<[string, boolean]> = [
    ['42e01f', false], // Constrained Baseline
    ['42001e', false], // Baseline
    ['4d0029', false], // Main
    ['580028', false], // Extended (88)
    ['640028', true], // High
    ['640c1e', true], // Constrained High
    ['6e0029', true], // High 10 (110)
    ['7a0029', true], // High 4:2:2 (122)
    ['f40033', true], // High 4:4:4 Predictive (244)
  ];
  for (const [id, high] of rows) {
    it(`${id} -> ${high}`, () => expect(isHighProfile(id)).to.equal(high));
  }
});
