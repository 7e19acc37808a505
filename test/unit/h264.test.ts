import { expect } from 'chai';
import { isHighProfile } from '../../workers/h264.ts';
import { decodeSpropParameterSets, parseH264Sps } from '../../workers/h264Sps.ts';

// Table tests of the profile-level-id the ingest engines read from a camera's SPS
// (parseH264Sps of the SPS in sprop-parameter-sets), and of isHighProfile.
//
// Vectors come from encoders that are not ours:
//  - sprop-parameter-sets of published camera SDPs (Axis, Hikvision, a Dahua-style SDP, LIVE555);
//  - GStreamer 1.22 openh264enc (Cisco OpenH264) through rtph264pay, profiles and levels chosen
//    by the encoder for 640x480 / 1280x720 / 1920x1080 / 3840x2160;
//  - libx264 through ffmpeg 5.1.

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
      const sps = decodeSpropParameterSets(row.sprop).find((nal) => (nal[0]! & 0x1f) === 7)!;
      expect(parseH264Sps(sps).profileLevelId).to.equal(row.expected);
      const decoded = decode(row.expected);
      expect(decoded.level).to.equal(row.level);
      expect(decoded.constrainedBaseline).to.equal(row.constrainedBaseline ?? false);
      expect(row.profile).to.include(profileNames[decoded.profileIdc]!);
      expect(isHighProfile(row.expected)).to.equal(decoded.profileIdc >= 100);
    });
  }
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
