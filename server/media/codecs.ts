import type { types } from 'mediasoup';

/**
 * H.264 with packetization-mode 1 (ffmpeg's RTP muxer always uses it) in the two profiles every
 * browser receives: Constrained Baseline and Main. High-profile cameras are transcoded or relabelled
 * by the ingest (see FfmpegIngest).
 */
export const routerMediaCodecs: types.RtpCodecCapability[] = [
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '4d001f', 'level-asymmetry-allowed': 1 },
  },
];
