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

/** Parses the hexdump ffprobe prints for `extradata` (with -show_data) into bytes. */
export function parseFfprobeHexdump(dump: string): Buffer {
  const hex: string[] = [];
  for (const line of dump.split('\n')) {
    const match = /^[0-9a-f]{8}:\s((?:[0-9a-f]{2,4}\s)+)/i.exec(line.trim() + ' ');
    if (match?.[1]) hex.push(match[1].replace(/\s+/g, ''));
  }
  return Buffer.from(hex.join(''), 'hex');
}

/**
 * profile-level-id (6 hex digits: profile_idc, constraint flags, level_idc) from the SPS found in
 * codec extradata, which is either Annex B (start codes) or avcC (first byte 1).
 */
export function profileLevelIdFromExtradata(extradata: Buffer): string | undefined {
  if (extradata.length >= 4 && extradata[0] === 1) return extradata.subarray(1, 4).toString('hex');
  for (let i = 0; i + 4 < extradata.length; i++) {
    const startCode3 = extradata[i] === 0 && extradata[i + 1] === 0 && extradata[i + 2] === 1;
    if (!startCode3) continue;
    const nal = extradata[i + 3];
    if (nal !== undefined && (nal & 0x1f) === 7 && i + 7 <= extradata.length) {
      return extradata.subarray(i + 4, i + 7).toString('hex');
    }
  }
  return undefined;
}

/** The profile-level-id when only ffprobe's profile name and level are known (no SPS). */
export function profileLevelIdFromName(profile: string | undefined, level: number | undefined): string {
  // ffprobe prints an unknown level as -99 (no SPS yet, e.g. SPS/PPS only in a later packet): 3.1 then.
  const known = level !== undefined && Number.isFinite(level) && level > 0 ? level : 31;
  const levelHex = Math.max(10, Math.min(known, 52)).toString(16).padStart(2, '0');
  switch ((profile ?? '').toLowerCase()) {
    case 'constrained baseline':
      return `42e0${levelHex}`;
    case 'baseline':
      return `4200${levelHex}`;
    case 'main':
      return `4d00${levelHex}`;
    case 'high':
      return `6400${levelHex}`;
    default:
      return `42e0${levelHex}`;
  }
}

/** True for profile_idc 100 (High) and above, which browsers commonly do not accept for WebRTC. */
export function isHighProfile(profileLevelId: string): boolean {
  return parseInt(profileLevelId.slice(0, 2), 16) >= 100;
}
