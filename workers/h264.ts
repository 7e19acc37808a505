/** H.264 details the ingest needs to describe a stream to mediasoup exactly as it arrives. */

import type { IngestDescription } from './Ingest.ts';

/** The H.264 codec an ingest declares to mediasoup (RFC 6184 §8.1: packetization-mode 1). */
export function h264Codec(payloadType: number, profileLevelId: string): IngestDescription['codec'] {
  return {
    mimeType: 'video/H264',
    clockRate: 90000,
    payloadType,
    parameters: { 'packetization-mode': 1, 'profile-level-id': profileLevelId, 'level-asymmetry-allowed': 1 },
  };
}

/** True for profile_idc 100 (High) and above, which browsers commonly do not accept for WebRTC. */
export function isHighProfile(profileLevelId: string): boolean {
  return parseInt(profileLevelId.slice(0, 2), 16) >= 100;
}

/** The profile's name for a profile-level-id (H.264 Annex A.2; constraint_set1 on Baseline is Constrained Baseline, RFC 6184 Table 5). */
export function h264ProfileName(profileLevelId: string): string {
  const profileIdc = parseInt(profileLevelId.slice(0, 2), 16);
  const constraints = parseInt(profileLevelId.slice(2, 4), 16);
  const names: Record<number, string> = { 66: 'Baseline', 77: 'Main', 88: 'Extended', 100: 'High', 110: 'High 10', 122: 'High 4:2:2', 244: 'High 4:4:4 Predictive' };
  const name = names[profileIdc] ?? `profile_idc ${profileIdc}`;
  return profileIdc === 66 && constraints & 0x40 ? 'Constrained Baseline' : name;
}
